#pragma once

#include "workspace.h"
#include "yamlreader.h"

namespace sb {

// Reads a workspace's release sections, `metrics`, `gates` and `plans`, into `workspace` on top
// of the built-in metrics and gates (builtInGates() and builtInJudge()) and the playbook plan,
// which entries of the same name replace. Plans may import an Argo Rollouts manifest, named
// relative to the workspace file. Every problem throws DiagnosticError located in the workspace
// file (or in the manifest).
void readReleaseSections(const YamlMap &top, Workspace &workspace);

} // namespace sb
