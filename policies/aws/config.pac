package policies.aws.config

// AWS Config in every region. Its tests follow it.

/// Config is the history of every resource's configuration: without it, a
/// change that caused an incident cannot be found afterwards.
policy config_recorder_disabled {
  title "AWS Config is not recording in a region"
  description "The region has no configuration recorder, or it is not recording, or it records only some resource types."
  severity medium
  category security
  remediation "Set up AWS Config in the region with a recorder for all supported resource types (aws configservice put-configuration-recorder … --recording-group allSupported=true,includeGlobalResourceTypes=true), a delivery channel, and start it."
  tags ["cis-aws-1.5:3.5", "aws-fsbp:Config.1"]

  rule on aws.config.recorder {
    violation when not present or not (recording ?? false) or not (all_supported ?? false)
    message "AWS Config is not recording every resource type in {region} (recorder: {present}, recording: {recording}, all types: {all_supported})"
  }
}

test "no recorder, a stopped one and a partial one fail; a full recording one passes" {
  given aws.config.recorder missing { present: false }
  given aws.config.recorder stopped {
    present: true,
    name: "default",
    all_supported: true,
    recording: false,
  }
  given aws.config.recorder partial {
    present: true,
    name: "default",
    all_supported: false,
    recording: true,
  }
  given aws.config.recorder full {
    present: true,
    name: "default",
    all_supported: true,
    recording: true,
  }
  expect config_recorder_disabled fails missing
  expect config_recorder_disabled fails stopped
  expect config_recorder_disabled fails partial
  expect config_recorder_disabled passes full
}
