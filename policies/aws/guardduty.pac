package policies.aws.guardduty

// GuardDuty in every region. Its tests follow it.

/// GuardDuty watches CloudTrail, VPC flow logs and DNS for compromise; a
/// region without it is a region where nobody would notice.
policy guardduty_disabled {
  title "GuardDuty is off in a region"
  description "The region has no GuardDuty detector, or its detector is disabled."
  severity high
  category security
  remediation "aws guardduty create-detector --enable in the region (or enable it for the organisation from the delegated administrator account)."
  tags ["aws-fsbp:GuardDuty.1", "pacbot:check-guard-duty-enabled-for-all-accounts"]

  rule on aws.guardduty.detector {
    violation when not present or (status ?? "") != "ENABLED"
    message "GuardDuty is not on in {region} (detector: {present}, status: {status})"
  }

  autofix enable_guardduty() after 1d notify "secops@example.com"
}

test "no detector or a disabled one fails; an enabled one passes" {
  given aws.guardduty.detector missing { present: false }
  given aws.guardduty.detector disabled { present: true, detector_id: "d1", status: "DISABLED" }
  given aws.guardduty.detector enabled { present: true, detector_id: "d2", status: "ENABLED" }
  expect guardduty_disabled fails missing
  expect guardduty_disabled fails disabled
  expect guardduty_disabled passes enabled
}
