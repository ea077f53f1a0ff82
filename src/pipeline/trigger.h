// The reassembly trigger of DESIGN.md section 5.
//
// After a segment completion is recorded (and after the chunker sets chunking_complete, since
// every segment may finish before chunking does), a worker calls MaybeTriggerReassembly. When the
// job is chunking_complete and all total_segments completions are present, the one caller whose
// JobStore::CreateTriggerOnce wins moves the job chunking_complete -> reassembling and then sends
// {"job_id"} to the reassembly queue. Everyone else gets kAlreadyTriggered.
//
// Order: the status moves before the message is sent, so a reassembler never receives a message
// for a job that is not yet reassembling. The crash windows this leaves are closed by the janitor
// (janitor.h): trigger created but job still chunking_complete (ResumeTrigger), and job
// reassembling with no message and no lease taken (re-send after a grace period).
//
// Safe to call any number of times, from any number of threads and processes at once: the
// trigger row and the conditional status write make the message go out once per trigger (a
// janitor re-send may add a duplicate later, which reassemblers tolerate through the lease).
#pragma once

#include <string_view>

#include "core/result.h"
#include "pipeline/metrics.h"
#include "ports/job_store.h"
#include "ports/work_queue.h"

namespace stereospot::pipeline {

enum class TriggerOutcome {
  kNotReady,          // not chunking_complete, or completions are missing
  kAlreadyTriggered,  // another caller created the trigger (or the job has moved on)
  kTriggered,         // this call created the trigger, moved the job and sent the message
};

std::string_view TriggerOutcomeName(TriggerOutcome outcome);

// Runs the trigger check for `job_id`. Errors: those of the stores (kNotFound for an unknown
// job, kUnavailable when worth retrying). A failure after the trigger was created is left for
// the janitor to finish; the caller need not retry. `metrics` may be null.
Result<TriggerOutcome> MaybeTriggerReassembly(JobStore& jobs, WorkQueue& reassembly_queue,
                                              std::string_view job_id,
                                              MetricsRegistry* metrics = nullptr);

// The second half of a trigger, for a job whose trigger already exists: moves the job
// chunking_complete -> reassembling and sends the reassembly message. Returns kTriggered when it
// did, kAlreadyTriggered when the job was no longer chunking_complete (someone else finished it,
// or the job failed or was cancelled); nothing is sent then.
Result<TriggerOutcome> ResumeTrigger(JobStore& jobs, WorkQueue& reassembly_queue,
                                     std::string_view job_id, MetricsRegistry* metrics = nullptr);

// Sends {"job_id"} to the reassembly queue (the janitor's re-send).
Status SendReassemblyMessage(WorkQueue& reassembly_queue, std::string_view job_id);

}  // namespace stereospot::pipeline
