-- Cancels a job that is still queued or running.
-- KEYS[1] the job hash. ARGV[1] now (ms).
-- Returns the job's state afterwards, or false when the job does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local st = redis.call('HGET', KEYS[1], 'state')
if st == 'queued' or st == 'running' then
  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'updated_at', ARGV[1])
  st = 'cancelled'
end
return st
