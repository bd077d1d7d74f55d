-- Shared steps for the proxy's miltertest scripts: run with
--   miltertest -D port=PORT -D dir=THIS_DIR -s SCRIPT.lua
-- miltertest aborts (exit 1, silently) on a step the filter negotiated away, so every step
-- is guarded, and error() text is not printed, so fail() echoes first.
function fail(msg) mt.echo("FAIL: " .. msg) error(msg) end

function connect()
  local sock = "inet:" .. port .. "@127.0.0.1"
  local conn = mt.connect(sock, 20, 0.25)
  if conn == nil then fail("cannot connect to " .. sock) end
  mt.set_timeout(20)
  return conn
end

-- Runs a step unless negotiated away; checks its reply unless negotiated as no-reply.
function step(conn, name, noflag, nrflag, fn)
  if noflag ~= nil and mt.test_option(conn, noflag) then return end
  local err = fn()
  if err ~= nil then fail(name .. ": " .. err) end
  if nrflag ~= nil and not mt.test_option(conn, nrflag) then
    local r = mt.getreply(conn)
    if r ~= SMFIR_CONTINUE then fail(name .. ": reply " .. string.char(r)) end
  end
end

function open_session(conn)
  mt.macro(conn, SMFIC_CONNECT, "j", "mta.gw.test", "{daemon_name}", "smtpd")
  if mt.conninfo(conn, "client.sender.test", "192.0.2.10") ~= nil then fail("conninfo") end
  if not mt.test_option(conn, SMFIP_NR_CONN) then mt.getreply(conn) end
  step(conn, "helo", SMFIP_NOHELO, SMFIP_NR_HELO, function() return mt.helo(conn, "client.sender.test") end)
end

-- One message; headers is a list of {name, value}. Returns the end-of-message reply.
function send_message(conn, qid, headers, body)
  mt.macro(conn, SMFIC_MAIL, "i", qid)
  step(conn, "mail", SMFIP_NOMAIL, SMFIP_NR_MAIL, function() return mt.mailfrom(conn, "<alice@sender.test>") end)
  step(conn, "rcpt", SMFIP_NORCPT, SMFIP_NR_RCPT, function() return mt.rcptto(conn, "<bob@dest.test>") end)
  for _, h in ipairs(headers) do
    step(conn, "header " .. h[1], SMFIP_NOHDRS, SMFIP_NR_HDR, function() return mt.header(conn, h[1], h[2]) end)
  end
  step(conn, "eoh", SMFIP_NOEOH, SMFIP_NR_EOH, function() return mt.eoh(conn) end)
  step(conn, "body", SMFIP_NOBODY, SMFIP_NR_BODY, function() return mt.bodystring(conn, body) end)
  if mt.eom(conn) ~= nil then fail("eom") end
  return mt.getreply(conn)
end

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
function plain_headers(subject)
  return {{"From", "Alice <alice@sender.test>"}, {"To", "bob@dest.test"},
          {"Subject", subject}, {"Date", "Thu, 03 Dec 2026 10:00:00 +0000"},
          {"Message-ID", "<" .. subject:gsub("%s", "-") .. "@sender.test>"}}
end
