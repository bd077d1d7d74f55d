-- Several messages on one connection: clean, GTUBE (our 550 reply), an aborted one, and
-- clean again; each gets its own verdict.
dofile(dir .. "/common.lua")
local conn = connect()
open_session(conn)
local r = send_message(conn, "MSG1", plain_headers("first"), "Hello.\r\n")
if r ~= SMFIR_ACCEPT then fail("1st: expected accept, got " .. string.char(r)) end
r = send_message(conn, "MSG2", plain_headers("second"), GTUBE .. "\r\n")
if r ~= SMFIR_REPLYCODE then fail("2nd: expected a reply code, got " .. string.char(r)) end
-- (miltertest matches a reply on all three parts only; with fewer it aborts or says no.)
if not mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", "Message rejected as spam") then
  fail("2nd: not our 550 5.7.1 reply")
end
-- A transaction the MTA abandons half way.
mt.macro(conn, SMFIC_MAIL, "i", "MSG3")
step(conn, "mail", SMFIP_NOMAIL, SMFIP_NR_MAIL, function() return mt.mailfrom(conn, "<x@sender.test>") end)
step(conn, "header", SMFIP_NOHDRS, SMFIP_NR_HDR, function() return mt.header(conn, "Subject", GTUBE) end)
if mt.abort(conn) ~= nil then fail("abort") end
r = send_message(conn, "MSG4", plain_headers("fourth"), "Still fine.\r\n")
if r ~= SMFIR_ACCEPT then fail("4th (after abort): expected accept, got " .. string.char(r)) end
mt.disconnect(conn)
mt.echo("OK: several messages")
