#pragma once

#include "releasecontroller.h"
#include "result.h"

#include <QByteArray>
#include <QString>

namespace sb {

// A release in flight as compact JSON and back: its strategy, its plan (gates and metric
// definitions included, so it resumes under the plan it started with even if the workspace
// changed since) and its status, to the last request and gate measurement. The journal stores
// it; a restarted console decodes it. Events and chart traces are not part of it: the events
// are in the journal's entries, and traces are not kept across restarts.
//
// The format carries a version; decoding names what is wrong (an unknown strategy, a missing
// or mistyped field, a newer format) rather than guessing.
QByteArray encodeRelease(const ReleaseController::Release &release);
Result<ReleaseController::Release, QString> decodeRelease(const QByteArray &json);

} // namespace sb
