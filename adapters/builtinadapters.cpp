#include "builtinadapters.h"

#include "adapterregistry.h"
#include "haproxy/haproxyadapter.h"
#include "nginx/nginxadapter.h"
#include "prometheus/prometheusadapter.h"
#include "simulator/simulatoradapter.h"

namespace sb {

void registerBuiltinAdapters(AdapterRegistry &registry)
{
    registry.add(sim::SimulatorAdapter::adapterType());
    registry.add(haproxy::HaproxyAdapter::adapterType());
    registry.add(nginx::NginxAdapter::adapterType());
    registry.add(prom::PrometheusAdapter::adapterType());
}

} // namespace sb
