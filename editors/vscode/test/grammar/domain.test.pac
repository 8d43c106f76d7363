// SYNTAX TEST "source.pac" "compliance domains"
/// Network exposure and encryption.
domain cloud_security {
// <------ keyword.declaration.group.pac
//     ^^^^^^^^^^^^^^ entity.name.type.group.pac
  title "Cloud security"
//^^^^^ keyword.other.metadata.pac
  categories ["security"]
//^^^^^^^^^^ keyword.other.metadata.pac
  policies ["sg_ssh_open_to_world"]
//^^^^^^^^ keyword.other.metadata.pac
}
