using TrustLaunch.Jose;

namespace TrustLaunch.Oci.Golden;

/// <summary>
/// A store's (registry operator's) signature beside the publisher's: the same signed payload, one more entry in the
/// JWS JSON <c>signatures</c>, the existing signatures unchanged, so each stays verifiable on its own.
/// </summary>
public static class GoldenCountersign
{
    /// <summary>The golden value <paramref name="jws"/> (compact or JSON) with a signature by <paramref name="signer"/> added.</summary>
    /// <exception cref="FormatException">Not a golden value, or <paramref name="signer"/>'s key signed it already.</exception>
    public static (string Jws, GoldenValue Value) Add(string jws, IPayloadSigner signer)
    {
        ArgumentNullException.ThrowIfNull(signer);
        var signatures = JwsJson.ParseSignatures(jws);
        if (signatures.FirstOrDefault(s => s.Type != GoldenValue.JwsType) is { } other)
            throw new FormatException($"JWS typ is '{other.Type}', expected '{GoldenValue.JwsType}'");
        if (signatures.Any(s => s.KeyId == signer.KeyId))
            throw new FormatException($"key {signer.KeyId} signed this golden value already");
        var value = GoldenValue.ParsePayload(signatures[0].Payload);
        return (JwsJson.AddSignature(jws, signer, GoldenValue.JwsType), value);
    }
}
