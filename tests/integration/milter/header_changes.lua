-- Header changes at end of message: forged X-Spam-* headers removed, our X-Spam headers
-- added to clean mail, and the Subject rewritten with our headers for spam below reject.
dofile(dir .. "/common.lua")
local conn = connect()
open_session(conn)
local h = plain_headers("clean one")
table.insert(h, {"X-Spam-Flag", "YES"})
local r = send_message(conn, "HDR1", h, "Nothing to see.\r\n")
if r ~= SMFIR_ACCEPT then fail("clean: expected accept, got " .. string.char(r)) end
if not mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Flag") then fail("forged X-Spam-Flag not removed") end
if not mt.eom_check(conn, MT_HDRADD, "X-Spam-Status") then fail("X-Spam-Status not added") end
local status = mt.getheader(conn, "X-Spam-Status", 0)
if status == nil or not string.find(status, "No, score=") then fail("X-Spam-Status: " .. tostring(status)) end
if not mt.eom_check(conn, MT_HDRADD, "X-Spam-Score") then fail("X-Spam-Score not added") end
if mt.eom_check(conn, MT_HDRADD, "X-Spam-Flag") then fail("clean mail flagged") end
mt.disconnect(conn)
mt.echo("OK: header changes")
