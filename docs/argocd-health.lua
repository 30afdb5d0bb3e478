-- Argo CD health check for venus.filecoin.io/ChainService.
--
-- Install in the argocd-cm ConfigMap:
--   data:
--     resource.customizations.health.venus.filecoin.io_ChainService: |
--       <this file>
--
-- The status follows the kstatus conventions: nothing is trusted until the operator has seen
-- the current generation (status.observedGeneration == metadata.generation), so a freshly
-- synced change shows Progressing instead of the previous spec's Healthy.
local hs = {}

local function condition(obj, ctype)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

local generation = obj.metadata.generation
if generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

local ready = condition(obj, "Ready")
local degraded = condition(obj, "Degraded")

-- A spec the operator refuses will not fix itself: Degraded, with the operator's message.
if ready ~= nil and ready.status == "False" and ready.reason == "InvalidSpec" then
  hs.status = "Degraded"
  hs.message = ready.message or "Invalid spec"
  return hs
end

if obj.status.phase == "Failed" then
  hs.status = "Degraded"
  hs.message = (ready ~= nil and ready.message) or "ChainService failed"
  return hs
end

if ready ~= nil and ready.status == "True" then
  if degraded ~= nil and degraded.status == "True" then
    -- Serving, but a standby or a replica is missing.
    hs.status = "Degraded"
    hs.message = degraded.message or "Serving with reduced redundancy"
    return hs
  end
  hs.status = "Healthy"
  hs.message = ready.message or "All components ready"
  return hs
end

if obj.status.phase == "Degraded" or (degraded ~= nil and degraded.status == "True") then
  hs.status = "Degraded"
  hs.message = (degraded ~= nil and degraded.message) or (ready ~= nil and ready.message) or "Degraded"
  return hs
end

hs.status = "Progressing"
hs.message = (ready ~= nil and ready.message) or ("Phase " .. (obj.status.phase or "Pending"))
return hs
