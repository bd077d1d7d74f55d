-- Option negotiation: the proxy asks for header changes and quarantine only, switches off
-- the steps it does not need and answers the rest without replies.
dofile(dir .. "/common.lua")
local conn = connect()
-- Offer everything (version 6, all actions, all steps). miltertest passes on only the
-- steps of its own libmilter (up to SMFIP_NOUNKNOWN), so the no-reply flags of later
-- versions are checked in the unit tests and through Postfix.
if mt.negotiate(conn, 6, 0x1ff, 0x1fffff) ~= nil then fail("negotiate") end
for _, a in ipairs({{"SMFIF_ADDHDRS", SMFIF_ADDHDRS}, {"SMFIF_CHGHDRS", SMFIF_CHGHDRS},
                    {"SMFIF_QUARANTINE", SMFIF_QUARANTINE}}) do
  if not mt.test_action(conn, a[2]) then fail("action not asked for: " .. a[1]) end
end
for _, a in ipairs({{"SMFIF_CHGBODY", SMFIF_CHGBODY}, {"SMFIF_ADDRCPT", SMFIF_ADDRCPT},
                    {"SMFIF_DELRCPT", SMFIF_DELRCPT}, {"SMFIF_CHGFROM", SMFIF_CHGFROM}}) do
  if mt.test_action(conn, a[2]) then fail("action asked for but never used: " .. a[1]) end
end
for _, o in ipairs({{"SMFIP_NOUNKNOWN", SMFIP_NOUNKNOWN}, {"SMFIP_NOEOH", SMFIP_NOEOH},
                    {"SMFIP_NR_HDR", SMFIP_NR_HDR}}) do
  if not mt.test_option(conn, o[2]) then fail("step flag missing: " .. o[1]) end
end
for _, o in ipairs({{"SMFIP_NOBODY", SMFIP_NOBODY}, {"SMFIP_NOHDRS", SMFIP_NOHDRS},
                    {"SMFIP_NOMAIL", SMFIP_NOMAIL}, {"SMFIP_NORCPT", SMFIP_NORCPT},
                    {"SMFIP_NOCONNECT", SMFIP_NOCONNECT}}) do
  if mt.test_option(conn, o[2]) then fail("a step the scan needs was switched off: " .. o[1]) end
end
open_session(conn)
local r = send_message(conn, "NEG1", plain_headers("negotiated"), "A short note.\r\n")
if r ~= SMFIR_ACCEPT then fail("eom: expected accept, got " .. string.char(r)) end
mt.disconnect(conn)
mt.echo("OK: negotiation")
