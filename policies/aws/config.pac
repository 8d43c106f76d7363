package policies.aws.config

// AWS Config in every region. Each policy's tests follow it.

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

/// IAM users, roles, groups and policies are global resources: Config
/// records their changes only where a recorder includes global resource
/// types (one region is enough; more records them twice).
policy config_global_resources_not_recorded {
  title "No AWS Config recorder of the account records global resources"
  description "A recording configuration recorder belongs to an account none of whose recording recorders (in any region of the inventory) has include_global_resource_types on, so IAM changes are recorded nowhere."
  severity medium
  category security
  remediation "In one region (usually the home region), aws configservice put-configuration-recorder --configuration-recorder name=<name>,roleARN=<role> --recording-group allSupported=true,includeGlobalResourceTypes=true."
  tags ["config-coverage"]

  rule on aws.config.recorder {
    violation when
      present
      and (recording ?? false)
      and none r in aws.config.recorder:
            r.account == account
            and (r.recording ?? false)
            and (r.include_global_resource_types ?? false)
    message "no recorder of account {account} records IAM and other global resources (seen from {region})"
  }
}

test "an account whose recorders all skip global resources fails in each region" {
  given aws.config.recorder east {
    id: "us-east-1",
    account: "111122223333",
    region: "us-east-1",
    present: true,
    all_supported: true,
    include_global_resource_types: false,
    recording: true,
  }
  given aws.config.recorder west {
    id: "eu-west-1",
    account: "111122223333",
    region: "eu-west-1",
    present: true,
    all_supported: true,
    include_global_resource_types: false,
    recording: true,
  }
  expect config_global_resources_not_recorded fails east
  expect config_global_resources_not_recorded fails west
}

test "one recorder of the account recording global resources covers its other regions" {
  given aws.config.recorder home {
    id: "us-east-1",
    account: "444455556666",
    region: "us-east-1",
    present: true,
    all_supported: true,
    include_global_resource_types: true,
    recording: true,
  }
  given aws.config.recorder other {
    id: "eu-west-1",
    account: "444455556666",
    region: "eu-west-1",
    present: true,
    all_supported: true,
    include_global_resource_types: false,
    recording: true,
  }
  expect config_global_resources_not_recorded passes home
  expect config_global_resources_not_recorded passes other
}

test "a region without a recorder is left to config_recorder_disabled" {
  given aws.config.recorder missing { account: "777788889999", present: false }
  expect config_global_resources_not_recorded passes missing
}

test "a stopped recorder is left to config_recorder_disabled" {
  given aws.config.recorder paused {
    account: "777788889999",
    present: true,
    all_supported: true,
    include_global_resource_types: false,
    recording: false,
  }
  expect config_global_resources_not_recorded passes paused
}
