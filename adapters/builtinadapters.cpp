#include "builtinadapters.h"

#include "adapterregistry.h"
#include "simulator/simulatoradapter.h"

namespace sb {

void registerBuiltinAdapters(AdapterRegistry &registry)
{
    registry.add(sim::SimulatorAdapter::adapterType());
}

} // namespace sb
