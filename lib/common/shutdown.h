// SIGTERM/SIGINT handling for the services: the signals are blocked in every thread and
// taken synchronously by the main thread, which then drains and exits.
#ifndef FARSIDE_LIB_COMMON_SHUTDOWN_H_
#define FARSIDE_LIB_COMMON_SHUTDOWN_H_

namespace farside {

// Call first in main(), before any thread starts, so every thread inherits the mask.
void BlockShutdownSignals();

// Blocks until SIGTERM or SIGINT arrives; returns the signal number.
int WaitForShutdownSignal();

}  // namespace farside

#endif  // FARSIDE_LIB_COMMON_SHUTDOWN_H_
