#pragma once
/// sluice/sluice.hpp: everything sluice offers, for convenience; each header also stands alone.

#include "async_generator.hpp"
#include "cancellation.hpp"
#include "event_loop.hpp"
#include "generator.hpp"
#include "result.hpp"
#include "task.hpp"
#include "time.hpp"
