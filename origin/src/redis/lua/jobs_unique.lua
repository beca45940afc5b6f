-- Binds a uniqueness key to a new job unless the job it names is still queued or running.
-- KEYS[1] the uniqueness key. ARGV[1] the new job's id, ARGV[2] the key's TTL (ms), ARGV[3]
-- the queue's key base.
-- Returns the live job's id, or false when the key now names the new job. The new job's hash
-- is started here ('queued', expiring in 30 s unless the submission that follows completes
-- it), so a concurrent submission sees a live job rather than a key naming nothing.
local cur = redis.call('GET', KEYS[1])
if cur then
  local st = redis.call('HGET', ARGV[3] .. ':job:' .. cur, 'state')
  if st == 'queued' or st == 'running' then return cur end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local jk = ARGV[3] .. ':job:' .. ARGV[1]
redis.call('HSET', jk, 'state', 'queued')
redis.call('PEXPIRE', jk, 30000)
return false
