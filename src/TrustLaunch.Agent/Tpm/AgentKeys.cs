using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Agent.Tpm;

/// <summary>
/// The agent's TPM identity: the RSA EK (persistent when the TPM was provisioned with one, else the TCG default EK
/// recreated on demand), its certificate from NV when present, and the persistent AK quotes are signed with.
/// </summary>
public sealed record AgentKeys(
    TpmPublic EkPublic,
    uint? PersistentEkHandle,
    byte[]? EkCertificate,
    uint AkHandle,
    TpmPublic AkPublic)
{
    public byte[] AkName => AkPublic.ComputeName();
}
