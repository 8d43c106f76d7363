package policies.aws.elb

// Load balancers (ELBv2) and their certificates (ACM). Each policy's
// tests follow it.

/// TLS policies that still accept TLS 1.0 or 1.1 (or SSLv3-era ciphers).
fn outdated_tls_policies() -> list<string> = [
  "ELBSecurityPolicy-2015-05",
  "ELBSecurityPolicy-2016-08",
  "ELBSecurityPolicy-TLS-1-0-2015-04",
  "ELBSecurityPolicy-TLS-1-1-2017-01",
  "ELBSecurityPolicy-FS-2018-06",
  "ELBSecurityPolicy-FS-1-1-2019-08",
]

/// A load balancer on the internet is the front door of whatever is behind
/// it; only those meant to be public should be.
policy elb_internet_facing_unapproved {
  title "Load balancer faces the internet without approval"
  description "An internet-facing load balancer lacks the tag `exposure=public` that records the decision to expose it."
  severity high
  category security
  remediation "Make the load balancer internal, or tag it exposure=public once its exposure is reviewed."
  tags ["pacbot:check-for-elb-public-access"]

  rule application on aws.elbv2.load_balancer {
    violation when (scheme ?? "") == "internet-facing" and (tags["exposure"] ?? "") != "public"
    message "load balancer {id} faces the internet ({dns_name}) without exposure=public"
  }
  rule classic on aws.elb.load_balancer {
    violation when (scheme ?? "") == "internet-facing" and (tags["exposure"] ?? "") != "public"
    message "classic load balancer {id} faces the internet ({dns_name}) without exposure=public"
  }
}

test "an internet-facing classic load balancer without approval fails; an internal one passes" {
  given aws.elb.load_balancer web { scheme: "internet-facing", dns_name: "web-1.elb.amazonaws.com" }
  given aws.elb.load_balancer inner {
    scheme: "internal",
    dns_name: "internal-inner.elb.amazonaws.com",
  }
  expect elb_internet_facing_unapproved.classic fails web
  expect elb_internet_facing_unapproved.classic passes inner
}

test "an untagged internet-facing balancer fails; a tagged or internal one passes" {
  given aws.elbv2.load_balancer web {
    scheme: "internet-facing",
    dns_name: "web-1.us-east-1.elb.amazonaws.com",
  }
  given aws.elbv2.load_balancer shop { scheme: "internet-facing", tags: { exposure: "public" } }
  given aws.elbv2.load_balancer api_internal { scheme: "internal" }
  expect elb_internet_facing_unapproved fails web
  expect elb_internet_facing_unapproved passes shop
  expect elb_internet_facing_unapproved passes api_internal
}

/// Access logs are the only record of who called what through the load
/// balancer.
policy elb_access_logs_disabled {
  title "Load balancer access logs are off"
  description "The load balancer does not write access logs to S3 (access_logs.s3.enabled is false)."
  severity medium
  category security
  remediation "aws elbv2 modify-load-balancer-attributes --load-balancer-arn <arn> --attributes Key=access_logs.s3.enabled,Value=true Key=access_logs.s3.bucket,Value=<bucket>"
  tags ["aws-fsbp:ELB.5", "pacbot:check-for-access-log-for-elb"]

  rule application on aws.elbv2.load_balancer {
    violation when
      (load_balancer_type ?? "application") != "gateway" and not (access_logs_enabled ?? false)
    message "load balancer {id} writes no access logs"
  }
  rule classic on aws.elb.load_balancer {
    violation when not (access_log?.enabled ?? false)
    message "classic load balancer {id} writes no access logs"
  }
}

test "a classic load balancer without access logs fails; one logging to a bucket passes" {
  given aws.elb.load_balancer quiet { access_log: { enabled: false } }
  given aws.elb.load_balancer logged {
    access_log: { enabled: true, s3_bucket_name: "acme-elb-logs" },
  }
  expect elb_access_logs_disabled.classic fails quiet
  expect elb_access_logs_disabled.classic passes logged
}

test "logs on passes; off fails; gateway load balancers have none to write" {
  given aws.elbv2.load_balancer logged {
    load_balancer_type: "application",
    access_logs_enabled: true,
    access_logs_bucket: "lb-logs",
  }
  given aws.elbv2.load_balancer unlogged {
    load_balancer_type: "application",
    access_logs_enabled: false,
  }
  given aws.elbv2.load_balancer gwlb { load_balancer_type: "gateway" }
  expect elb_access_logs_disabled passes logged
  expect elb_access_logs_disabled fails unlogged
  expect elb_access_logs_disabled passes gwlb
}

/// Plain HTTP that is not redirected sends cookies and forms in the clear.
policy elb_http_not_redirected {
  title "Load balancer serves plain HTTP without redirecting to HTTPS"
  description "An HTTP listener of the load balancer answers instead of redirecting to HTTPS."
  severity medium
  category security
  remediation "Make the HTTP listener's default action a redirect to HTTPS (port 443, status HTTP_301)."
  tags ["aws-fsbp:ELB.1"]

  rule on aws.elbv2.load_balancer {
    let plain = count l in listeners: (l.protocol ?? "") == "HTTP" and not l.redirects_to_https
    violation when plain > 0
    message "load balancer {id} has {plain} HTTP listener(s) that do not redirect to HTTPS"
  }
}

test "an HTTP listener that redirects passes; one that forwards fails" {
  given aws.elbv2.load_balancer redirecting {
    listeners: [
      { port: 80, protocol: "HTTP", redirects_to_https: true },
      {
        port: 443,
        protocol: "HTTPS",
        ssl_policy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        redirects_to_https: false,
      },
    ],
  }
  given aws.elbv2.load_balancer forwarding {
    listeners: [{ port: 80, protocol: "HTTP", redirects_to_https: false }],
  }
  expect elb_http_not_redirected passes redirecting
  expect elb_http_not_redirected fails forwarding
}

/// TLS 1.0 and 1.1 have known weaknesses and are out of PCI DSS.
policy elb_outdated_tls_policy {
  title "Load balancer listener accepts TLS 1.0 or 1.1"
  description "An HTTPS or TLS listener uses a security policy from `outdated_tls_policies()`, which accept TLS 1.0 or 1.1."
  severity medium
  category security
  remediation "Switch the listener to ELBSecurityPolicy-TLS13-1-2-2021-06 (or a newer TLS 1.2+ policy)."
  tags ["aws-fsbp:ELB.17"]

  rule on aws.elbv2.load_balancer {
    let weak = count l in listeners: (l.ssl_policy ?? "") in outdated_tls_policies()
    violation when weak > 0
    message "load balancer {id} has {weak} listener(s) accepting TLS 1.0 or 1.1"
  }
}

test "a 2016-08 policy fails; TLS 1.3 passes" {
  given aws.elbv2.load_balancer old_tls {
    listeners: [
      {
        port: 443,
        protocol: "HTTPS",
        ssl_policy: "ELBSecurityPolicy-2016-08",
        redirects_to_https: false,
      },
    ],
  }
  given aws.elbv2.load_balancer new_tls {
    listeners: [
      {
        port: 443,
        protocol: "HTTPS",
        ssl_policy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        redirects_to_https: false,
      },
    ],
  }
  expect elb_outdated_tls_policy fails old_tls
  expect elb_outdated_tls_policy passes new_tls
}

/// Malformed headers are how request smuggling gets through to the
/// targets.
policy elb_invalid_headers_kept {
  title "Application load balancer passes invalid HTTP headers on"
  description "An application load balancer does not drop invalid header fields (routing.http.drop_invalid_header_fields.enabled is false)."
  severity low
  category security
  remediation "aws elbv2 modify-load-balancer-attributes --load-balancer-arn <arn> --attributes Key=routing.http.drop_invalid_header_fields.enabled,Value=true"
  tags ["aws-fsbp:ELB.4"]

  rule on aws.elbv2.load_balancer {
    violation when
      (load_balancer_type ?? "") == "application" and not (drop_invalid_header_fields ?? false)
    message "load balancer {id} passes invalid header fields to its targets"
  }
}

test "an ALB that drops invalid headers passes; one that keeps them fails; an NLB is not concerned" {
  given aws.elbv2.load_balancer dropping {
    load_balancer_type: "application",
    drop_invalid_header_fields: true,
  }
  given aws.elbv2.load_balancer keeping {
    load_balancer_type: "application",
    drop_invalid_header_fields: false,
  }
  given aws.elbv2.load_balancer nlb { load_balancer_type: "network" }
  expect elb_invalid_headers_kept passes dropping
  expect elb_invalid_headers_kept fails keeping
  expect elb_invalid_headers_kept passes nlb
}

/// Deleting a production load balancer by mistake (a console click, a
/// stray `terraform destroy`) takes the service off the internet and its
/// DNS name with it.
policy elb_deletion_protection_off {
  title "Production load balancer can be deleted without protection"
  description "A load balancer tagged env=prod or env=production has deletion protection off (deletion_protection.enabled is false)."
  severity medium
  category operations
  remediation "aws elbv2 modify-load-balancer-attributes --load-balancer-arn <arn> --attributes Key=deletion_protection.enabled,Value=true"
  tags ["aws-fsbp:ELB.6"]

  rule on aws.elbv2.load_balancer {
    violation when
      lower(tags["env"] ?? "") in ["prod", "production"] and not (deletion_protection ?? false)
    message "production load balancer {id} ({load_balancer_type}) has no deletion protection"
  }
}

test "a production load balancer without deletion protection fails" {
  given aws.elbv2.load_balancer prod_open {
    load_balancer_type: "application",
    deletion_protection: false,
    tags: { env: "prod" },
  }
  expect elb_deletion_protection_off fails prod_open
}

test "a protected production load balancer passes" {
  given aws.elbv2.load_balancer prod_safe {
    load_balancer_type: "network",
    deletion_protection: true,
    tags: { env: "Production" },
  }
  expect elb_deletion_protection_off passes prod_safe
}

test "an unprotected load balancer outside production passes" {
  given aws.elbv2.load_balancer dev_open {
    load_balancer_type: "application",
    deletion_protection: false,
    tags: { env: "dev" },
  }
  expect elb_deletion_protection_off passes dev_open
}

/// A load balancer in one Availability Zone fails with that zone, however
/// many targets it has elsewhere.
policy elb_single_az {
  title "Load balancer serves a single Availability Zone"
  description "The load balancer is enabled in fewer than two Availability Zones (its availability_zones list). Application load balancers need two; network and gateway load balancers accept one."
  severity medium
  category operations
  remediation "Enable a subnet in a second Availability Zone: aws elbv2 set-subnets --load-balancer-arn <arn> --subnets <subnet-a> <subnet-b>."
  tags ["aws-fsbp:ELB.13"]

  rule on aws.elbv2.load_balancer {
    let zones = len(availability_zones)
    violation when zones < 2
    message "load balancer {id} ({load_balancer_type}) serves {zones} Availability Zone(s): {availability_zones}"
  }
}

test "a network load balancer in one zone fails" {
  given aws.elbv2.load_balancer one_zone {
    load_balancer_type: "network",
    availability_zones: ["us-east-1a"],
  }
  expect elb_single_az fails one_zone
}

test "an application load balancer in two zones passes" {
  given aws.elbv2.load_balancer two_zones {
    load_balancer_type: "application",
    availability_zones: ["us-east-1a", "us-east-1b"],
  }
  expect elb_single_az passes two_zones
}

/// A certificate that expires takes its site down with it.
policy acm_certificate_expiring {
  title "ACM certificate expires within 30 days"
  description "An issued certificate expires within 30 days and ACM will not renew it by itself (imported, or not eligible for managed renewal), or it is in use and expires within 14 days."
  severity high
  category operations
  remediation "Renew or re-import the certificate (or fix its DNS validation so ACM can renew it), then confirm the load balancers and distributions serve the new one."
  tags ["aws-fsbp:ACM.1", "pacbot:check-for-acm-certificate-expiry"]

  rule on aws.acm.certificate {
    let left = not_after ?? now
    violation when
      (status ?? "") == "ISSUED"
      and ((left < now + 30d and (renewal_eligibility ?? "INELIGIBLE") != "ELIGIBLE")
           or ((in_use ?? false) and left < now + 2w))
    message "certificate {id} ({domain_name}) expires on {left}"
  }
}

test "an imported certificate expiring in 10 days fails; an eligible one in 20 days and one in a year pass" {
  now 2026-12-01
  given aws.acm.certificate imported_soon {
    domain_name: "legacy.example.com",
    status: "ISSUED",
    certificate_type: "IMPORTED",
    renewal_eligibility: "INELIGIBLE",
    not_after: 2026-12-11,
  }
  given aws.acm.certificate managed_soon {
    domain_name: "shop.example.com",
    status: "ISSUED",
    certificate_type: "AMAZON_ISSUED",
    renewal_eligibility: "ELIGIBLE",
    in_use: true,
    not_after: 2026-12-21,
  }
  given aws.acm.certificate far {
    domain_name: "api.example.com",
    status: "ISSUED",
    renewal_eligibility: "INELIGIBLE",
    not_after: 2027-12-01,
  }
  expect acm_certificate_expiring fails imported_soon
  expect acm_certificate_expiring passes managed_soon
  expect acm_certificate_expiring passes far
}

/// RSA keys under 2048 bits can be factored.
policy acm_certificate_weak_key {
  title "ACM certificate has an RSA key shorter than 2048 bits"
  description "The certificate's key is RSA_1024."
  severity high
  category security
  remediation "Request or import a certificate with an RSA 2048+ or ECDSA key and replace it where it is used."
  tags ["aws-fsbp:ACM.2"]

  rule on aws.acm.certificate {
    violation when (key_algorithm ?? "") == "RSA_1024"
    message "certificate {id} ({domain_name}) has a 1024-bit RSA key"
  }
}

test "RSA_1024 fails; RSA_2048 passes" {
  given aws.acm.certificate weak { key_algorithm: "RSA_1024" }
  given aws.acm.certificate strong { key_algorithm: "RSA_2048" }
  expect acm_certificate_weak_key fails weak
  expect acm_certificate_weak_key passes strong
}

/// An expired certificate still attached to a listener or distribution
/// serves browser errors; one no longer attached is clutter that hides the
/// certificates that matter.
policy acm_certificate_expired {
  title "ACM certificate has expired"
  description "The certificate's status is EXPIRED, or its not_after date has passed. One that is in use means clients get TLS errors now."
  severity high
  category operations
  remediation "If it is in use, attach a valid certificate to the load balancer or distribution (aws elbv2 modify-listener --certificates CertificateArn=<new-arn>); then delete the expired one: aws acm delete-certificate --certificate-arn <arn>."
  tags ["aws-fsbp:ACM.1"]

  rule on aws.acm.certificate {
    let expired_on = not_after ?? now
    violation when (status ?? "") == "EXPIRED" or (has(not_after) and not_after < now)
    message "certificate {id} ({domain_name}) expired on {expired_on}; in use: {in_use ?? false}"
  }
}

test "a certificate with status EXPIRED fails" {
  now 2026-12-01
  given aws.acm.certificate stale {
    domain_name: "old.example.com",
    status: "EXPIRED",
    in_use: false,
    not_after: 2026-06-01,
  }
  expect acm_certificate_expired fails stale
}

test "an issued certificate past its not_after date fails before ACM updates its status" {
  now 2026-12-01
  given aws.acm.certificate lapsed {
    domain_name: "shop.example.com",
    status: "ISSUED",
    in_use: true,
    not_after: 2026-11-30,
  }
  expect acm_certificate_expired fails lapsed
}

test "a valid certificate, and one without dates, pass" {
  now 2026-12-01
  given aws.acm.certificate valid {
    domain_name: "api.example.com",
    status: "ISSUED",
    not_after: 2027-06-01,
  }
  given aws.acm.certificate pending { domain_name: "new.example.com", status: "PENDING_VALIDATION" }
  expect acm_certificate_expired passes valid
  expect acm_certificate_expired passes pending
}

/// A classic load balancer with no instances costs money and still
/// answers on the internet.
policy classic_elb_unused {
  title "Classic load balancer has no registered instances"
  description "The classic load balancer has no instance registered with it."
  severity low
  category cost
  remediation "Delete it (aws elb delete-load-balancer --load-balancer-name <name>), or move what it served to an application load balancer."
  tags ["pacbot:check-for-unused-classic-elb", "finops"]

  rule on aws.elb.load_balancer {
    violation when len(instances) == 0
    message "classic load balancer {id} has no registered instances"
  }
}

test "a classic load balancer without instances fails" {
  given aws.elb.load_balancer idle { scheme: "internal" }
  expect classic_elb_unused fails idle
}

test "a classic load balancer serving two instances passes" {
  given aws.elb.load_balancer busy { scheme: "internal", instances: ["i-0a", "i-0b"] }
  expect classic_elb_unused passes busy
}

/// With EC2 health checks only, a group keeps instances whose application
/// is down but whose VM still runs.
policy autoscaling_group_elb_health_check_off {
  title "Auto Scaling group behind a load balancer uses EC2 health checks only"
  description "The group registers with a load balancer or target group but replaces instances only on EC2 status checks (health_check_type EC2)."
  severity low
  category operations
  remediation "aws autoscaling update-auto-scaling-group --auto-scaling-group-name <name> --health-check-type ELB --health-check-grace-period 300"
  tags ["aws-fsbp:AutoScaling.1"]

  rule on aws.autoscaling.group {
    let balanced = len(load_balancer_names) + len(target_group_arns)
    violation when balanced > 0 and (health_check_type ?? "EC2") == "EC2"
    message "group {id} sits behind {balanced} load balancers or target groups but uses EC2 health checks"
  }
}

test "a group behind a target group with EC2 health checks fails" {
  given aws.autoscaling.group web {
    health_check_type: "EC2",
    target_group_arns: ["arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/1"],
    instance_count: 2,
  }
  expect autoscaling_group_elb_health_check_off fails web
}

test "a group with ELB health checks, or behind no load balancer, passes" {
  given aws.autoscaling.group checked {
    health_check_type: "ELB",
    load_balancer_names: ["shop-web"],
    instance_count: 2,
  }
  given aws.autoscaling.group workers { health_check_type: "EC2", instance_count: 4 }
  expect autoscaling_group_elb_health_check_off passes checked
  expect autoscaling_group_elb_health_check_off passes workers
}

/// IMDSv1 answers any request from the instance, so an SSRF flaw leaks the
/// instance role's credentials; every instance a launch configuration
/// starts inherits its setting.
policy launch_configuration_imdsv1 {
  title "Launch configuration allows IMDSv1"
  description "The launch configuration does not require IMDSv2 (`http_tokens` is not `required`), so every instance it launches accepts IMDSv1."
  severity medium
  category security
  remediation "Create a launch template (or a new launch configuration) with HttpTokens=required and point the group at it."
  tags ["aws-fsbp:AutoScaling.3"]

  rule on aws.autoscaling.launch_configuration {
    violation when (http_tokens ?? "optional") != "required"
    message "launch configuration {id} launches instances that accept IMDSv1"
  }
}

test "a launch configuration without metadata options fails" {
  given aws.autoscaling.launch_configuration old { image_id: "ami-1", instance_type: "t3.micro" }
  expect launch_configuration_imdsv1 fails old
}

test "a launch configuration requiring IMDSv2 passes" {
  given aws.autoscaling.launch_configuration v2 { http_tokens: "required" }
  expect launch_configuration_imdsv1 passes v2
}

/// Instances that get a public address are reachable from the internet
/// as soon as a security group opens a port.
policy launch_configuration_public_ip {
  title "Launch configuration gives instances public IP addresses"
  description "The launch configuration assigns a public IPv4 address to every instance it launches."
  severity medium
  category security
  remediation "Launch into private subnets behind a load balancer: a new launch template with AssociatePublicIpAddress false."
  tags ["aws-fsbp:AutoScaling.5"]

  rule on aws.autoscaling.launch_configuration {
    violation when associate_public_ip_address ?? false
    message "launch configuration {id} gives its instances public IP addresses"
  }
}

test "a launch configuration assigning public addresses fails" {
  given aws.autoscaling.launch_configuration public { associate_public_ip_address: true }
  expect launch_configuration_public_ip fails public
}

test "a launch configuration without public addresses passes" {
  given aws.autoscaling.launch_configuration private { associate_public_ip_address: false }
  given aws.autoscaling.launch_configuration unset { image_id: "ami-1" }
  expect launch_configuration_public_ip passes private
  expect launch_configuration_public_ip passes unset
}
