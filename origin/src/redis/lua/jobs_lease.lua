-- Takes one of a kind's cluster-wide concurrency slots.
-- KEYS[1] the kind's lease set (member = lease id, score = expiry in ms).
-- ARGV[1] lease id, ARGV[2] the limit, ARGV[3] now (ms), ARGV[4] the lease's expiry (ms).
-- Returns 1 when taken (or already held), 0 when every slot is held by a live lease.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if not redis.call('ZSCORE', KEYS[1], ARGV[1])
    and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1
