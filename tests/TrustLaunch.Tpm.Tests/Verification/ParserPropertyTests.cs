using System.Security.Cryptography;
using System.Text;
using CsCheck;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Tpm.Tests.Verification;

/// <summary>
/// Random and mutated inputs: parsers may only throw <see cref="TpmFormatException"/>, the verifier may only refuse,
/// and no mutation of a valid quote verifies.
/// </summary>
public sealed class ParserPropertyTests : IDisposable
{
    private static readonly int Iterations = int.TryParse(Environment.GetEnvironmentVariable("TRUSTLAUNCH_PROPERTY_ITERATIONS"), out var n) ? n : 3000;
    private readonly ECDsa _ecc = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly RSA _rsa = RSA.Create(2048);
    private readonly QuoteSample _eccQuote;
    private readonly QuoteSample _rsaQuote;

    public ParserPropertyTests()
    {
        _eccQuote = SoftwareSigner.Quote(_ecc, new AttestBuilder { Selection = PcrSelection.ParseList("sha384:2+sha256:0,1,15") });
        _rsaQuote = SoftwareSigner.Quote(_rsa);
    }

    public void Dispose()
    {
        _ecc.Dispose();
        _rsa.Dispose();
    }

    private enum Kind { FlipBit, Truncate, Insert, Delete, Overwrite }

    /// <summary>One to three mutations of <paramref name="source"/>; the result always differs from it.</summary>
    private static Gen<byte[]> Mutated(byte[] source) =>
        Gen.Select(Gen.Enum<Kind>(), Gen.Int[0, int.MaxValue], Gen.Byte, (kind, position, value) => (kind, position, value))
            .Array[1, 3]
            .Select(mutations =>
            {
                var bytes = source.ToList();
                foreach (var (kind, position, value) in mutations)
                {
                    var at = bytes.Count == 0 ? 0 : position % bytes.Count;
                    switch (kind)
                    {
                        case Kind.FlipBit when bytes.Count > 0:
                            bytes[at] ^= (byte)(1 << (value % 8));
                            break;
                        case Kind.Truncate when bytes.Count > 0:
                            bytes.RemoveRange(at, bytes.Count - at);
                            break;
                        case Kind.Insert:
                            bytes.Insert(position % (bytes.Count + 1), value);
                            break;
                        case Kind.Delete when bytes.Count > 0:
                            bytes.RemoveAt(at);
                            break;
                        case Kind.Overwrite when bytes.Count > 0:
                            bytes[at] = value;
                            break;
                    }
                }
                return bytes.ToArray();
            })
            .Where(b => !b.AsSpan().SequenceEqual(source));

    private static readonly Gen<byte[]> RandomBytes = Gen.Byte.Array[0, 300];

    /// <summary>Random bytes behind a valid magic and attestation type, so parsing gets past the header.</summary>
    private static readonly Gen<byte[]> AttestLike =
        Gen.Select(Gen.OneOf(Gen.Const((ushort)0x8017), Gen.Const((ushort)0x8018), Gen.Const((ushort)0x801A)), RandomBytes,
            (type, tail) => (byte[])[0xFF, 0x54, 0x43, 0x47, (byte)(type >> 8), (byte)type, .. tail]);

    /// <summary>A TPM2B_PUBLIC whose size prefix fits and whose type and nameAlg are valid, then random bytes.</summary>
    private static readonly Gen<byte[]> PublicLike =
        Gen.Select(Gen.OneOf(Gen.Const((byte)0x01), Gen.Const((byte)0x23), Gen.Const((byte)0x08), Gen.Const((byte)0x25)), RandomBytes,
            (type, tail) =>
            {
                byte[] body = [0x00, type, 0x00, 0x0B, .. tail];
                return (byte[])[(byte)(body.Length >> 8), (byte)body.Length, .. body];
            });

    /// <summary>A TPMT_SIGNATURE with a valid algorithm and hash, then random bytes.</summary>
    private static readonly Gen<byte[]> SignatureLike =
        Gen.Select(Gen.OneOf(Gen.Const((byte)0x14), Gen.Const((byte)0x16), Gen.Const((byte)0x18), Gen.Const((byte)0x05)), RandomBytes,
            (alg, tail) => (byte[])[0x00, alg, 0x00, 0x0B, .. tail]);

    private static void OnlyFormatErrors(Action parse)
    {
        try
        {
            parse();
        }
        catch (TpmFormatException)
        {
        }
    }

    private static IReadOnlyList<PcrSelection> AnySelection(byte[] bytes)
    {
        try
        {
            return TpmAttest.Parse(bytes).PcrSelections;
        }
        catch (TpmFormatException)
        {
            return PcrSelection.ParseList("sha256:0,1");
        }
    }

    [Fact]
    public void TpmAttestParse_RandomOrMutatedBytes_OnlyTpmFormatException() =>
        Gen.OneOf(RandomBytes, AttestLike, Mutated(_eccQuote.Attest), Mutated(_rsaQuote.Attest))
            .Sample(bytes => OnlyFormatErrors(() => TpmAttest.Parse(bytes)), iter: Iterations);

    [Fact]
    public void TpmSignatureParse_RandomOrMutatedBytes_OnlyTpmFormatException() =>
        Gen.OneOf(RandomBytes, SignatureLike, Mutated(_eccQuote.Signature), Mutated(_rsaQuote.Signature))
            .Sample(bytes => OnlyFormatErrors(() => TpmSignature.Parse(bytes)), iter: Iterations);

    [Fact]
    public void TpmPublicParseTpm2b_RandomOrMutatedBytes_OnlyTpmFormatException()
    {
        var ecc = TpmTemplates.AkEccP256() with
        {
            Ecc = new TpmEccKey(TpmEccCurve.NistP256, TpmScheme.None, _ecc.ExportParameters(false).Q.X!, _ecc.ExportParameters(false).Q.Y!),
        };
        var rsa = TpmTemplates.AkRsa2048() with { Rsa = new TpmRsaKey(2048, 0, _rsa.ExportParameters(false).Modulus!) };
        Gen.OneOf(RandomBytes, PublicLike, Mutated(ecc.ToTpm2bPublic()), Mutated(rsa.ToTpm2bPublic()), Mutated(TpmTemplates.EkRsa2048().ToTpm2bPublic()))
            .Sample(bytes => OnlyFormatErrors(() => TpmPublic.ParseTpm2b(bytes)), iter: Iterations);
    }

    [Fact]
    public void AkPublicKeysLoad_RandomOrMutatedFiles_OnlyTpmFormatException()
    {
        var ecc = TpmTemplates.AkEccP256() with
        {
            Ecc = new TpmEccKey(TpmEccCurve.NistP256, TpmScheme.None, _ecc.ExportParameters(false).Q.X!, _ecc.ExportParameters(false).Q.Y!),
        };
        var eccPem = Encoding.ASCII.GetBytes(_ecc.ExportSubjectPublicKeyInfoPem());
        var rsaPem = Encoding.ASCII.GetBytes(_rsa.ExportSubjectPublicKeyInfoPem());
        Gen.OneOf(RandomBytes, PublicLike, Mutated(ecc.ToTpm2bPublic()), Mutated(eccPem), Mutated(rsaPem))
            .Sample(bytes => OnlyFormatErrors(() => AkPublicKeys.Load(bytes).Dispose()), iter: Iterations);
    }

    [Fact]
    public void PcrValuesFromConcatenated_RandomSelectionAndData_OnlyTpmFormatException()
    {
        // Selections as a quote may carry them: any bank id (also unknown ones), any PCRs, repeated banks.
        var selection = Gen.Select(Gen.OneOf(Gen.Const((ushort)TpmAlgId.Sha1), Gen.Const((ushort)TpmAlgId.Sha256), Gen.UShort),
                Gen.Int[0, 23].Array[0, 5], (bank, pcrs) => new PcrSelection((TpmAlgId)bank, pcrs))
            .Array[0, 3];
        Gen.Select(selection, Gen.OneOf(RandomBytes, Mutated(_eccQuote.PcrValues)))
            .Sample((s, data) => OnlyFormatErrors(() => PcrValues.FromConcatenated(s, data)), iter: Iterations);
    }

    [Fact]
    public void PcrValuesFromConcatenated_SelectionsOfMutatedAttests_OnlyTpmFormatException() =>
        Gen.Select(Mutated(_eccQuote.Attest), Gen.OneOf(RandomBytes, Mutated(_eccQuote.PcrValues)))
            .Sample((attest, data) => OnlyFormatErrors(() => PcrValues.FromConcatenated(AnySelection(attest), data)), iter: Iterations);

    [Fact]
    public void Verify_RandomBuffers_NeverThrowsNeverValid() =>
        Gen.Select(Gen.OneOf(RandomBytes, AttestLike), Gen.OneOf(RandomBytes, SignatureLike), RandomBytes, Gen.Byte.Array[0, 40])
            .Sample((attest, signature, values, nonce) =>
            {
                Assert.False(QuoteVerifier.Verify(_ecc, attest, signature, values, nonce).IsValid);
                Assert.False(QuoteVerifier.Verify(_rsa, attest, signature, values, nonce).IsValid);
            }, iter: Iterations);

    private enum Part { Attest, Signature, PcrValues, Nonce }

    [Theory]
    [InlineData("ecc")]
    [InlineData("rsa")]
    public void Verify_MutatedValidQuote_NeverValid(string type)
    {
        var q = type == "ecc" ? _eccQuote : _rsaQuote;
        Assert.True(q.Verify().IsValid);
        var mutatedQuote = Gen.Enum<Part>().SelectMany(part => part switch
        {
            Part.Attest => Mutated(q.Attest).Select(b => q with { Attest = b }),
            Part.Signature => Mutated(q.Signature).Select(b => q with { Signature = b }),
            Part.PcrValues => Mutated(q.PcrValues).Select(b => q with { PcrValues = b }),
            _ => Mutated(q.Nonce).Select(b => q with { Nonce = b }),
        });
        mutatedQuote.Sample(m =>
        {
            var result = m.Verify();
            Assert.False(result.IsValid, "a mutated quote verified");
            Assert.NotEqual("valid", result.Reason);
            Assert.NotEqual(QuoteFailure.None, result.Failure);
        }, iter: Iterations);
    }
}
