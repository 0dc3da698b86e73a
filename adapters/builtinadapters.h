#pragma once

namespace sb {

class AdapterRegistry;

// Every adapter type that ships with Signalbox. Called once from each main().
void registerBuiltinAdapters(AdapterRegistry &registry);

} // namespace sb
