package aws.guardduty

// Amazon GuardDuty, once per account and region. Conventions: see
// docs/schemas.md.

/// GuardDuty in one account and region (ListDetectors, GetDetector); `id` is the region, so that a region without a detector is a resource too (`present: false`).
schema aws.guardduty.detector {
  /// Whether the region has a detector.
  present: bool
  /// The detector's ID.
  detector_id: string?
  /// `ENABLED` or `DISABLED`.
  status: string?
  /// How often findings are published: `FIFTEEN_MINUTES`, `ONE_HOUR`, `SIX_HOURS`.
  finding_publishing_frequency: string?
  /// When the detector was created (text, as the API sends it).
  created_at: string?
}
