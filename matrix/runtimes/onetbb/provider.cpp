// A provider written in C++ that uses oneTBB: one parallel_for starts the worker threads.
#include <tbb/parallel_for.h>

#include <atomic>

extern "C" int dlm_provider_fire(void)
{
	std::atomic<int> done{ 0 };

	tbb::parallel_for(0, 1000, [&](int) { done++; });
	return done == 1000 ? 0 : 1;
}
