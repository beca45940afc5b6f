-- Records an item's outcome once (HSETNX), updates the job's counters and state, and acks
-- and deletes the stream entry, atomically.
-- KEYS[1] the job hash, KEYS[2] the job's items hash, KEYS[3] the priority's stream.
-- ARGV[1] consumer group, ARGV[2] stream entry id ('' when none), ARGV[3] item index,
-- ARGV[4] the outcome (JSON), ARGV[5] the counter field to increment, ARGV[6] now (ms),
-- ARGV[7] TTL (ms). Returns 1 when this outcome was the first for the item, else 0.
-- Dead-lettering (the last attempt failed): KEYS[4] the dead-letter stream, ARGV[8] the task
-- (JSON), ARGV[9] the error (JSON), ARGV[10] attempts, ARGV[11] the stream's approximate
-- length cap; the letter is added only when the failure is the item's first outcome, so a
-- redrive always has a recorded failure to replace.
local new = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  new = redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[4])
  if new == 1 then
    redis.call('HINCRBY', KEYS[1], ARGV[5], 1)
    local h = redis.call('HMGET', KEYS[1], 'total', 'succeeded', 'failed', 'skipped', 'state')
    local total = tonumber(h[1]) or 0
    local s = tonumber(h[2]) or 0
    local f = tonumber(h[3]) or 0
    local k = tonumber(h[4]) or 0
    local st = h[5]
    if st ~= 'cancelled' then
      if s + f + k >= total then
        if s == 0 and f > 0 then st = 'failed' else st = 'completed' end
      else
        st = 'running'
      end
      redis.call('HSET', KEYS[1], 'state', st)
    end
    redis.call('HSET', KEYS[1], 'updated_at', ARGV[6])
    redis.call('PEXPIRE', KEYS[1], ARGV[7])
    redis.call('PEXPIRE', KEYS[2], ARGV[7])
    if ARGV[8] then
      redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[11], '*',
        't', ARGV[8], 'e', ARGV[9], 'a', ARGV[10])
    end
  end
end
if ARGV[2] ~= '' then
  redis.call('XACK', KEYS[3], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[3], ARGV[2])
end
return new
