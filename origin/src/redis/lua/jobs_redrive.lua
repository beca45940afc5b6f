-- Redrives one dead letter: removes it, removes the item's recorded failure from its job
-- (counts and state follow), resets the item's attempts and queues it again on the job's
-- priority stream. The letter's removal is the guard: a letter is redriven at most once.
-- KEYS[1] the dead-letter stream. ARGV[1] the letter's id, ARGV[2] the queue's key base,
-- ARGV[3] now (ms), ARGV[4] TTL (ms).
-- Returns 1 when queued again, 0 when there is no such letter, -1 when it was removed without
-- a redrive (its job expired, or the item has a result other than the failure).
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
local fields, t = e[1][2], nil
for i = 1, #fields, 2 do
  if fields[i] == 't' then t = fields[i + 1] end
end
if not t then return -1 end
local task = cjson.decode(t)
local jk = ARGV[2] .. ':job:' .. task.job_id
if redis.call('EXISTS', jk) == 0 then return -1 end
local idx = string.format('%d', task.index)
local prev = redis.call('HGET', jk .. ':items', idx)
if prev then
  local o = cjson.decode(prev)
  if o.status ~= 'failed' then return -1 end
  redis.call('HDEL', jk .. ':items', idx)
  redis.call('HINCRBY', jk, 'failed', -1)
end
redis.call('HDEL', jk .. ':attempts', idx)
if redis.call('HGET', jk, 'state') ~= 'cancelled' then
  redis.call('HSET', jk, 'state', 'running')
end
redis.call('HSET', jk, 'updated_at', ARGV[3])
redis.call('PEXPIRE', jk, ARGV[4])
local p = redis.call('HGET', jk, 'priority') or 'normal'
redis.call('XADD', ARGV[2] .. ':q:' .. p, '*', 't', t)
return 1
