#pragma once
/// sluice/sluice.hpp: everything sluice offers, for convenience; each header also stands alone.

#include "as_completed.hpp"
#include "async_generator.hpp"
#include "cancellation.hpp"
#include "event.hpp"
#include "event_loop.hpp"
#include "gather.hpp"
#include "generator.hpp"
#include "igather.hpp"
#include "queue.hpp"
#include "result.hpp"
#include "semaphore.hpp"
#include "task.hpp"
#include "task_group.hpp"
#include "thread_pool.hpp"
#include "time.hpp"
