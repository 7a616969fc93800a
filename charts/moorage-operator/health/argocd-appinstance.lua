-- Argo CD resource health for apps.moorage.dev/AppInstance (Argo CD runs Lua 5.1).
-- Order matters: an out-of-date status says nothing yet; Stalled means nothing moves without a change;
-- Degraded is a failure even while the operator retries on its own; Reconciling is work under way.
local health = { status = "Progressing", message = "waiting for the operator to report" }
if obj.status == nil or obj.status.conditions == nil then
  return health
end
local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  health.message = "the operator has not seen generation " .. tostring(generation) .. " yet"
  return health
end
local by_type = {}
for _, condition in ipairs(obj.status.conditions) do
  by_type[condition.type] = condition
end
local function is_true(kind)
  return by_type[kind] ~= nil and by_type[kind].status == "True"
end
local function describe(kind)
  local condition = by_type[kind]
  local message = condition.message or ""
  if message == "" then
    return condition.reason or kind
  end
  return (condition.reason or kind) .. ": " .. message
end
if is_true("Stalled") then
  return { status = "Degraded", message = describe("Stalled") }
end
if is_true("Degraded") then
  return { status = "Degraded", message = describe("Degraded") }
end
if is_true("Reconciling") then
  return { status = "Progressing", message = describe("Reconciling") }
end
if obj.spec ~= nil and obj.spec.paused then
  return { status = "Suspended", message = "spec.paused is set" }
end
if is_true("Ready") then
  return { status = "Healthy", message = describe("Ready") }
end
if by_type["Ready"] ~= nil then
  health.message = describe("Ready")
end
return health
