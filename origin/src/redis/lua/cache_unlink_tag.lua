-- Unlinks every member of a cache tag set, then the set: one round trip, atomic.
-- KEYS[1] the tag set. Returns how many members were unlinked.
local members = redis.call('SMEMBERS', KEYS[1])
for i = 1, #members, 500 do
  redis.call('UNLINK', unpack(members, i, math.min(i + 499, #members)))
end
redis.call('UNLINK', KEYS[1])
return #members
