using TrustLaunch.Jose;

namespace TrustLaunch.Hsm;

/// <summary>
/// An <see cref="IPayloadSigner"/> whose private key stays in the HSM: an EC P-256 key signs ES256, an RSA key RS256
/// (default) or PS256. Thread-safe: each concurrent <see cref="Sign"/> borrows its own PKCS#11 session from a pool
/// (the login is per process, held by the first session, which stays open until <see cref="Dispose"/>).
/// </summary>
public sealed class HsmPayloadSigner : IPayloadSigner, IDisposable
{
    private readonly HsmSessionPool _sessions;
    private readonly HsmKey _key;

    private HsmPayloadSigner(HsmSession primary, HsmKey key, string algorithm, string keyId, string publicKeyPem)
    {
        PublicKeyPem = publicKeyPem;
        _sessions = new HsmSessionPool(primary);
        _key = key;
        Algorithm = algorithm;
        KeyId = keyId;
    }

    public string Algorithm { get; }
    public string KeyId { get; }

    /// <summary>The public key (SPKI PEM), for whoever checks this signer's signatures.</summary>
    public string PublicKeyPem { get; }

    /// <summary>The key as an RFC 7512 URI.</summary>
    public string KeyUri => new Pkcs11Uri { Token = _sessions.TokenLabel, Object = _key.Label, Type = HsmObjectType.Private }.ToString();

    /// <summary>Opens a signer for the private key <paramref name="uri"/> names (its token= picks the token).</summary>
    public static HsmPayloadSigner Open(HsmModule module, Pkcs11Uri uri, ReadOnlySpan<byte> pin, string? algorithm = null)
    {
        var token = uri.Token ?? throw new FormatException($"PKCS#11 URI '{uri.ToDisplayString()}' names no token: add token=LABEL");
        var session = module.OpenSession(token, pin);
        try
        {
            var key = session.FindKey(uri, HsmObjectType.Private);
            var alg = (key.Kind, algorithm) switch
            {
                (HsmKeyKind.Ec, null or JwsAlgorithms.ES256) when key.Bits == 256 => JwsAlgorithms.ES256,
                (HsmKeyKind.Rsa, null or JwsAlgorithms.RS256) => JwsAlgorithms.RS256,
                (HsmKeyKind.Rsa, JwsAlgorithms.PS256) => JwsAlgorithms.PS256,
                _ => throw new HsmException("C_SignInit", "CKR_KEY_TYPE_INCONSISTENT",
                    $"{key.Describe()} cannot sign {algorithm ?? "golden values"}; ES256 needs an EC P-256 key, RS256/PS256 an RSA key"),
            };
            using var pub = session.GetPublicKey(key);
            return new HsmPayloadSigner(session, key, alg, Jwk.ThumbprintOf(pub), pub.ExportSubjectPublicKeyInfoPem());
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        var session = _sessions.Rent();
        try
        {
            return session.Sign(_key, Algorithm, data);
        }
        finally
        {
            _sessions.Return(session);
        }
    }

    public void Dispose() => _sessions.Dispose();
}
