-- Runs a list of commands atomically, in one script call: how a cluster connection sends what
-- is a MULTI/EXEC transaction on one server. A transaction that reaches a node which lost the
-- slot in a failover fails as a whole (the client does not follow a MOVED inside EXEC), where a
-- script call is redirected and retried by the client like any command.
-- KEYS[1] a key of the slot every command touches (for routing). ARGV: for each command, its
-- argument count, then its arguments. Returns how many commands ran.
local i, n = 1, 0
while i <= #ARGV do
  local argc = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + argc))
  i = i + argc + 1
  n = n + 1
end
return n
