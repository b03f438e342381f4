using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Jose;

namespace TrustLaunch.Kbs.Attestation;

/// <summary>
/// What a Trustee attester binds into its evidence: SHA-384 of the RFC 8785 canonical JSON of
/// <c>{"additional-evidence":&lt;string&gt;,"nonce":…,"tee-pubkey":{…}}</c> (the first key present even when empty),
/// zero-padded to the 64 bytes of TPM qualifying data.
/// </summary>
public static class ReportData
{
    public const int Size = 64;

    public static byte[] Compute(string additionalEvidence, string nonce, JsonElement teePubkey)
    {
        var binding = new CanonicalJson.Object
        {
            ["additional-evidence"] = additionalEvidence,
            ["nonce"] = nonce,
            ["tee-pubkey"] = teePubkey,
        };
        var padded = new byte[Size];
        SHA384.HashData(CanonicalJson.Serialize(binding), padded);
        return padded;
    }
}
