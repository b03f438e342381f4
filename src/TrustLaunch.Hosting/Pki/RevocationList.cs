using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TrustLaunch.Hosting.Pki;

/// <summary>
/// An X.509 CRL (RFC 5280 §5) whose signature was checked against its issuer in a <see cref="CaBundle"/>: the
/// issuer, CRL number, validity and the revoked serial numbers. ECDSA-signed CRLs only (what our CA writes).
/// </summary>
public sealed class RevocationList
{
    private const string CrlNumberOid = "2.5.29.20";
    private static readonly Dictionary<string, HashAlgorithmName> EcdsaAlgorithms = new(StringComparer.Ordinal)
    {
        ["1.2.840.10045.4.3.2"] = HashAlgorithmName.SHA256,
        ["1.2.840.10045.4.3.3"] = HashAlgorithmName.SHA384,
        ["1.2.840.10045.4.3.4"] = HashAlgorithmName.SHA512,
    };

    private readonly HashSet<BigInteger> _revoked;

    private RevocationList(X500DistinguishedName issuer, BigInteger number, DateTimeOffset thisUpdate, DateTimeOffset? nextUpdate, HashSet<BigInteger> revoked)
    {
        Issuer = issuer;
        Number = number;
        ThisUpdate = thisUpdate;
        NextUpdate = nextUpdate;
        _revoked = revoked;
    }

    public X500DistinguishedName Issuer { get; }
    public BigInteger Number { get; }
    public DateTimeOffset ThisUpdate { get; }
    public DateTimeOffset? NextUpdate { get; }
    public IReadOnlyCollection<BigInteger> RevokedSerials => _revoked;

    public bool IsRevoked(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return _revoked.Contains(SerialOf(certificate));
    }

    public static BigInteger SerialOf(X509Certificate2 certificate) =>
        new(certificate.SerialNumberBytes.Span, isUnsigned: false, isBigEndian: true);

    /// <summary>Decodes a DER CRL and checks its signature with the bundle's root of the same subject; throws
    /// <see cref="CryptographicException"/> naming what is wrong.</summary>
    public static RevocationList Decode(ReadOnlyMemory<byte> der, CaBundle trust)
    {
        ArgumentNullException.ThrowIfNull(trust);
        try
        {
            var outer = new AsnReader(der, AsnEncodingRules.DER);
            var list = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            var tbsBytes = list.ReadEncodedValue();
            var outerAlgorithm = ReadAlgorithm(list);
            var signature = list.ReadBitString(out var unused);
            list.ThrowIfNotEmpty();
            if (unused != 0)
                throw new CryptographicException("the CRL signature has unused bits");

            var tbs = new AsnReader(tbsBytes, AsnEncodingRules.DER).ReadSequence();
            if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer) && (!tbs.TryReadInt32(out var version) || version != 1))
                throw new CryptographicException("the CRL is not version 2");
            var algorithm = ReadAlgorithm(tbs);
            if (algorithm != outerAlgorithm)
                throw new CryptographicException($"the CRL's signature algorithms disagree ({algorithm} vs {outerAlgorithm})");
            var issuer = new X500DistinguishedName(tbs.ReadEncodedValue().Span);
            var thisUpdate = ReadTime(tbs);
            DateTimeOffset? nextUpdate = tbs.HasData && IsTime(tbs.PeekTag()) ? ReadTime(tbs) : null;
            var revoked = new HashSet<BigInteger>();
            if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
            {
                var entries = tbs.ReadSequence();
                while (entries.HasData)
                {
                    var entry = entries.ReadSequence();
                    revoked.Add(entry.ReadInteger());
                    ReadTime(entry);
                }
            }
            var number = ReadCrlNumber(tbs);
            tbs.ThrowIfNotEmpty();

            VerifySignature(trust, issuer, algorithm, tbsBytes.Span, signature);
            return new RevocationList(issuer, number, thisUpdate, nextUpdate, revoked);
        }
        catch (AsnContentException e)
        {
            throw new CryptographicException($"malformed CRL: {e.Message}", e);
        }
    }

    private static void VerifySignature(CaBundle trust, X500DistinguishedName issuer, string algorithm, ReadOnlySpan<byte> tbs, ReadOnlySpan<byte> signature)
    {
        if (!EcdsaAlgorithms.TryGetValue(algorithm, out var hash))
            throw new CryptographicException($"unsupported CRL signature algorithm {algorithm} (expected ECDSA)");
        var signer = trust.Roots.FirstOrDefault(r => r.SubjectName.RawData.AsSpan().SequenceEqual(issuer.RawData))
            ?? throw new CryptographicException($"the CRL issuer '{issuer.Name}' is not a CA of the bundle");
        using var key = signer.GetECDsaPublicKey()
            ?? throw new CryptographicException($"the CRL issuer '{issuer.Name}' has no ECDSA key");
        if (!key.VerifyData(tbs, signature, hash, DSASignatureFormat.Rfc3279DerSequence))
            throw new CryptographicException($"the CRL signature does not verify with the key of '{issuer.Name}'");
    }

    private static BigInteger ReadCrlNumber(AsnReader tbs)
    {
        if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
        {
            var extensions = tbs.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)).ReadSequence();
            while (extensions.HasData)
            {
                var extension = extensions.ReadSequence();
                var oid = extension.ReadObjectIdentifier();
                if (extension.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean))
                    extension.ReadBoolean();
                var value = extension.ReadOctetString();
                if (oid == CrlNumberOid)
                    return new AsnReader(value, AsnEncodingRules.DER).ReadInteger();
            }
        }
        throw new CryptographicException("the CRL has no CRL number");
    }

    private static string ReadAlgorithm(AsnReader reader)
    {
        var algorithm = reader.ReadSequence();
        var oid = algorithm.ReadObjectIdentifier();
        if (algorithm.HasData)
            algorithm.ReadEncodedValue();
        return oid;
    }

    private static bool IsTime(Asn1Tag tag) =>
        tag.HasSameClassAndValue(new Asn1Tag(UniversalTagNumber.UtcTime)) || tag.HasSameClassAndValue(new Asn1Tag(UniversalTagNumber.GeneralizedTime));

    private static DateTimeOffset ReadTime(AsnReader reader) =>
        reader.PeekTag().HasSameClassAndValue(new Asn1Tag(UniversalTagNumber.UtcTime)) ? reader.ReadUtcTime() : reader.ReadGeneralizedTime();
}
