-- Moves delayed retries that are due onto their priority's stream.
-- KEYS[1] the delayed sorted set (score = due time in ms).
-- ARGV[1] now (ms), ARGV[2] the streams' key prefix, ARGV[3] at most this many.
-- Returns how many were moved.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local n = 0
for _, m in ipairs(due) do
  if redis.call('ZREM', KEYS[1], m) == 1 then
    local d = cjson.decode(m)
    redis.call('XADD', ARGV[2] .. d.p, '*', 't', d.t)
    n = n + 1
  end
end
return n
