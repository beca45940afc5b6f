-- A worker claims one item of a job: counts the attempt and moves a queued job to running.
-- KEYS[1] the job hash, KEYS[2] the job's attempts hash.
-- ARGV[1] item index, ARGV[2] now (ms), ARGV[3] TTL (ms).
-- Returns {attempts of this item, job state}, or {0, 'gone'} when the job has expired.
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 'gone'} end
local a = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local st = redis.call('HGET', KEYS[1], 'state')
if st == 'queued' then
  redis.call('HSET', KEYS[1], 'state', 'running', 'updated_at', ARGV[2])
  st = 'running'
end
return {a, st}
