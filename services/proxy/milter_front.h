// The milter front end: one lib/milter session per MTA connection, each message scanned
// through Verdicts and answered with header changes and a final reply.
#ifndef FARSIDE_SERVICES_PROXY_MILTER_FRONT_H_
#define FARSIDE_SERVICES_PROXY_MILTER_FRONT_H_

#include "lib/milter/session.h"
#include "services/proxy/net.h"
#include "services/proxy/verdicts.h"

namespace farside::proxy {

// The decision as milter replies.
milter::Verdict ToMilterVerdict(const Decision& d);

class MilterFront {
 public:
  explicit MilterFront(Verdicts* verdicts) : verdicts_(verdicts) {}
  // Serves one connection until the MTA quits, an error, or the idle timeout.
  void Serve(Conn& conn);

 private:
  Verdicts* verdicts_;
};

}  // namespace farside::proxy

#endif  // FARSIDE_SERVICES_PROXY_MILTER_FRONT_H_
