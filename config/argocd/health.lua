-- Argo CD health check for datamover.io/DataMover (Argo CD does not read kstatus conditions itself).
-- Completed -> Healthy; Failed -> Degraded; Stalled while in progress -> Degraded with the reason;
-- anything else (new, cloning, moving data, cleaning up, or status older than the spec) -> Progressing.
local hs = {}
local status = obj.status
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to start the backup"
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe the latest spec"
  return hs
end
if status.phase == "Completed" then
  hs.status = "Healthy"
  hs.message = status.message or "Backup completed"
  return hs
end
if status.phase == "Failed" then
  hs.status = "Degraded"
  hs.message = status.message or "Backup failed"
  return hs
end
if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    if condition.type == "Stalled" and condition.status == "True" then
      hs.status = "Degraded"
      hs.message = (condition.reason or "Stalled") .. ": " .. (condition.message or "")
      return hs
    end
  end
end
hs.status = "Progressing"
hs.message = status.message or ("Phase " .. status.phase)
return hs
