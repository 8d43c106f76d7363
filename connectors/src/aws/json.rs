//! AWS SDK values to inventory JSON. The SDK's types have no `Serialize`
//! (it is behind an unstable flag), so each modelled shape lists the
//! fields its schema declares; getter names are the schema's field names
//! (docs/schemas.md: snake_case as aws-sdk-rust spells them).

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde_json::{Map, Value as Json};

pub(crate) trait ToJson {
    fn to_json(&self) -> Json;
}

impl ToJson for str {
    fn to_json(&self) -> Json {
        Json::String(self.to_owned())
    }
}
impl ToJson for String {
    fn to_json(&self) -> Json {
        Json::String(self.clone())
    }
}
impl ToJson for bool {
    fn to_json(&self) -> Json {
        Json::Bool(*self)
    }
}
impl ToJson for i32 {
    fn to_json(&self) -> Json {
        Json::from(*self)
    }
}
impl ToJson for i64 {
    fn to_json(&self) -> Json {
        Json::from(*self)
    }
}
impl ToJson for DateTime {
    fn to_json(&self) -> Json {
        self.fmt(Format::DateTime)
            .map(Json::String)
            .unwrap_or(Json::Null)
    }
}
impl<T: ToJson + ?Sized> ToJson for &T {
    fn to_json(&self) -> Json {
        (**self).to_json()
    }
}
impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self) -> Json {
        match self {
            Some(v) => v.to_json(),
            None => Json::Null,
        }
    }
}
impl<T: ToJson> ToJson for [T] {
    fn to_json(&self) -> Json {
        Json::Array(self.iter().map(ToJson::to_json).collect())
    }
}
impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> Json {
        self.as_slice().to_json()
    }
}

/// Sets `key` unless the value is null (absent in the API).
pub(crate) fn put(m: &mut Map<String, Json>, key: &str, v: Json) {
    if !v.is_null() {
        m.insert(key.trim_start_matches("r#").to_owned(), v);
    }
}

/// `impl ToJson` for an SDK shape from the getters named like its fields.
macro_rules! shape {
    ($($ty:ty { $($field:ident),* $(,)? })*) => {$(
        impl $crate::aws::json::ToJson for $ty {
            fn to_json(&self) -> serde_json::Value {
                let mut m = serde_json::Map::new();
                $( $crate::aws::json::put(&mut m, stringify!($field), $crate::aws::json::ToJson::to_json(&self.$field())); )*
                serde_json::Value::Object(m)
            }
        }
    )*};
}

/// `impl ToJson` for SDK enums: their wire string.
macro_rules! enums {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::aws::json::ToJson for $ty {
            fn to_json(&self) -> serde_json::Value {
                serde_json::Value::String(self.as_str().to_owned())
            }
        }
    )*};
}

/// An inventory document.
pub(crate) fn document(
    resource_type: &str,
    id: &str,
    account: &str,
    region: &str,
    attributes: Json,
) -> Json {
    serde_json::json!({
        "type": resource_type,
        "id": id,
        "account": account,
        "region": region,
        "attributes": attributes,
    })
}

mod ec2 {
    use aws_sdk_ec2::types::*;

    enums!(
        InstanceStateName,
        InstanceType,
        Tenancy,
        MonitoringState,
        InstanceMetadataOptionsState,
        HttpTokensState,
        InstanceMetadataEndpointState,
        InstanceMetadataProtocolState,
        InstanceMetadataTagsState,
        AttachmentStatus,
        NetworkInterfaceStatus,
        PlatformValues,
        InstanceLifecycleType,
        VolumeType,
        VolumeState,
        VolumeAttachmentState,
        SnapshotState,
        StorageTier,
        PermissionGroup,
        ImageState,
        ArchitectureValues,
        ImageTypeValues,
        DeviceType,
        ImdsSupportValues,
        VpcState,
        SubnetState,
        VpcCidrBlockStateCode,
        SubnetCidrBlockStateCode,
        RuleAction,
        NetworkInterfaceType,
        DomainType,
        KeyType,
        TrafficType,
        LogDestinationType,
    );

    shape! {
        Tag { key, value }
        Instance {
            instance_id, image_id, instance_type, launch_time, state, placement, monitoring,
            key_name, vpc_id, subnet_id, private_ip_address, private_dns_name,
            public_ip_address, public_dns_name, iam_instance_profile, metadata_options,
            security_groups, block_device_mappings, network_interfaces, platform,
            platform_details, instance_lifecycle, source_dest_check, state_transition_reason, tags,
        }
        InstanceState { code, name }
        Placement { availability_zone, tenancy, group_name, host_id, partition_number }
        Monitoring { state }
        GroupIdentifier { group_id, group_name }
        IamInstanceProfile { arn, id }
        InstanceMetadataOptionsResponse {
            state, http_tokens, http_put_response_hop_limit, http_endpoint,
            http_protocol_ipv6, instance_metadata_tags,
        }
        InstanceBlockDeviceMapping { device_name, ebs }
        EbsInstanceBlockDevice { volume_id, status, attach_time, delete_on_termination }
        InstanceNetworkInterface {
            network_interface_id, status, subnet_id, vpc_id, private_ip_address,
            private_dns_name, mac_address, owner_id, description, interface_type,
            source_dest_check, groups, association, ipv6_addresses,
        }
        InstanceNetworkInterfaceAssociation {
            public_ip, public_dns_name, ip_owner_id, carrier_ip, customer_owned_ip,
        }
        InstanceIpv6Address { ipv6_address, is_primary_ipv6 }
        SecurityGroup {
            group_id, group_name, description, owner_id, vpc_id, security_group_arn,
            ip_permissions, ip_permissions_egress, tags,
        }
        IpPermission {
            ip_protocol, from_port, to_port, ip_ranges, ipv6_ranges, prefix_list_ids,
            user_id_group_pairs,
        }
        IpRange { cidr_ip, description }
        Ipv6Range { cidr_ipv6, description }
        PrefixListId { prefix_list_id, description }
        UserIdGroupPair {
            group_id, user_id, group_name, vpc_id, vpc_peering_connection_id,
            peering_status, description,
        }
        Volume {
            volume_id, size, volume_type, state, availability_zone, create_time, encrypted,
            kms_key_id, snapshot_id, iops, throughput, attachments, tags,
        }
        VolumeAttachment {
            volume_id, instance_id, device, state, attach_time, delete_on_termination,
            associated_resource,
        }
        Snapshot {
            snapshot_id, volume_id, volume_size, state, start_time, owner_id, owner_alias,
            description, encrypted, kms_key_id, storage_tier, tags,
        }
        CreateVolumePermission { group, user_id }
        Image {
            image_id, name, description, state, owner_id, image_owner_alias, creation_date,
            public, architecture, image_type, root_device_type, root_device_name, platform,
            platform_details, ena_support, imds_support, deprecation_time,
            block_device_mappings, tags,
        }
        LaunchPermission { group, user_id, organization_arn, organizational_unit_arn }
        BlockDeviceMapping { device_name, virtual_name, no_device, ebs }
        EbsBlockDevice {
            snapshot_id, volume_size, volume_type, encrypted, kms_key_id,
            delete_on_termination, iops, throughput,
        }
        Vpc {
            vpc_id, cidr_block, state, owner_id, is_default, instance_tenancy, dhcp_options_id,
            cidr_block_association_set, ipv6_cidr_block_association_set, tags,
        }
        VpcCidrBlockAssociation { association_id, cidr_block, cidr_block_state }
        VpcCidrBlockState { state, status_message }
        VpcIpv6CidrBlockAssociation {
            association_id, ipv6_cidr_block, ipv6_cidr_block_state, network_border_group,
            ipv6_pool,
        }
        Subnet {
            subnet_id, subnet_arn, vpc_id, owner_id, cidr_block, availability_zone,
            availability_zone_id, state, available_ip_address_count, default_for_az,
            map_public_ip_on_launch, assign_ipv6_address_on_creation, ipv6_native,
            ipv6_cidr_block_association_set, tags,
        }
        SubnetIpv6CidrBlockAssociation { association_id, ipv6_cidr_block, ipv6_cidr_block_state }
        SubnetCidrBlockState { state, status_message }
        NetworkAcl { network_acl_id, vpc_id, owner_id, is_default, entries, associations, tags }
        NetworkAclEntry {
            rule_number, protocol, rule_action, egress, cidr_block, ipv6_cidr_block,
            port_range, icmp_type_code,
        }
        PortRange { from, to }
        IcmpTypeCode { r#type, code }
        NetworkAclAssociation { network_acl_association_id, network_acl_id, subnet_id }
        NetworkInterface {
            network_interface_id, interface_type, status, subnet_id, vpc_id,
            availability_zone, private_ip_address, private_dns_name, mac_address, owner_id,
            requester_id, requester_managed, source_dest_check, description, groups,
            association, attachment, private_ip_addresses, ipv6_addresses, tag_set,
        }
        NetworkInterfaceAssociation {
            public_ip, public_dns_name, ip_owner_id, allocation_id, association_id,
            carrier_ip, customer_owned_ip,
        }
        NetworkInterfaceAttachment {
            attachment_id, instance_id, instance_owner_id, device_index, status,
            attach_time, delete_on_termination,
        }
        NetworkInterfacePrivateIpAddress { private_ip_address, private_dns_name, primary, association }
        NetworkInterfaceIpv6Address { ipv6_address, is_primary_ipv6 }
        Address {
            public_ip, allocation_id, domain, association_id, instance_id,
            network_interface_id, network_interface_owner_id, private_ip_address,
            public_ipv4_pool, network_border_group, tags,
        }
        KeyPairInfo { key_pair_id, key_name, key_fingerprint, key_type, create_time, public_key, tags }
        FlowLog {
            flow_log_id, resource_id, flow_log_status, deliver_logs_status,
            deliver_logs_error_message, traffic_type, log_destination_type, log_destination,
            log_group_name, deliver_logs_permission_arn, log_format, max_aggregation_interval,
            creation_time, tags,
        }
    }
}

mod s3 {
    use aws_sdk_s3::types::*;

    enums!(
        Type,
        Permission,
        ServerSideEncryption,
        BucketVersioningStatus,
        MfaDeleteStatus
    );

    shape! {
        Tag { key, value }
        Owner { id, display_name }
        Grant { grantee, permission }
        Grantee { r#type, id, display_name, email_address, uri }
        PolicyStatus { is_public }
        PublicAccessBlockConfiguration {
            block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets,
        }
        ServerSideEncryptionConfiguration { rules }
        ServerSideEncryptionRule { apply_server_side_encryption_by_default, bucket_key_enabled }
        ServerSideEncryptionByDefault { sse_algorithm, kms_master_key_id }
        LoggingEnabled { target_bucket, target_prefix }
    }
}

mod iam {
    use aws_sdk_iam::types::*;

    enums!(StatusType);

    shape! {
        Tag { key, value }
        User { user_name, user_id, arn, create_date, password_last_used, tags }
        MfaDevice { user_name, serial_number, enable_date }
        AttachedPolicy { policy_name, policy_arn }
        AccessKeyMetadata { access_key_id, user_name, status, create_date }
    }
}
