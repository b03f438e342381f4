using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Jose;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Verifier.Appraisal;
using TrustLaunch.Verifier.Policies;

namespace TrustLaunch.Benchmarks;

/// <summary>
/// The verifier's whole per-poll check: quote (signature, nonce, PCR digest, freshness), replay of a 100-record launch
/// log onto the launch PCR, policy evaluation of every record and the expected PCRs. The quote is a TPMS_ATTEST signed
/// in software the way a TPM signs it (ECDSA P-256 or RSASSA-2048 AK).
/// </summary>
[MemoryDiagnoser]
public class AppraisalBenchmarks
{
    private const int LaunchPcr = 11;
    private const int Records = 100;

    private AppraisalInput _ecc = null!;
    private AppraisalInput _rsa = null!;

    [GlobalSetup]
    public void Setup()
    {
        using var publisher = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var kid = Jwk.ThumbprintOf(publisher);
        var policy = new AttestationPolicy(new StoredPolicy(new PolicyDocument("bench",
            new Dictionary<string, string> { [kid] = publisher.ExportSubjectPublicKeyInfoPem() },
            [], [kid], ["apps"], LaunchPcr, new Dictionary<int, string> { [0] = new string('0', 64) }), 1, DateTimeOffset.UnixEpoch));
        var (events, pcr, golden) = BuildLog(publisher);
        _ecc = Input(policy, events, pcr, golden, ECDsa.Create(ECCurve.NamedCurves.nistP256));
        _rsa = Input(policy, events, pcr, golden, RSA.Create(2048));
        foreach (var input in new[] { _ecc, _rsa })
        {
            var outcome = Appraiser.Appraise(input);
            if (!outcome.IsAttested || outcome.EventsVerified != Records)
                throw new InvalidOperationException("the sample evidence does not appraise: " + outcome.Reason);
        }
    }

    [Benchmark]
    public bool AppraiseEcc100() => Appraiser.Appraise(_ecc).IsAttested;

    [Benchmark]
    public bool AppraiseRsa100() => Appraiser.Appraise(_rsa).IsAttested;

    /// <summary>Launches of 5 records each (pulled, verified, created, started, stopped), replayed from zeros, and the
    /// golden value (signed by <paramref name="publisher"/>) each ImageVerified names, as the evidence carries them.</summary>
    private static (List<CelRecord> Events, byte[] Pcr, Dictionary<string, string> GoldenValues) BuildLog(ECDsa publisher)
    {
        using var signer = PemPayloadSigner.FromPem(publisher.ExportPkcs8PrivateKeyPem());
        var events = new List<CelRecord>();
        var goldenValues = new Dictionary<string, string>(StringComparer.Ordinal);
        var pcr = new byte[32];
        var rootfs = Oci.Content.Digest.Parse("sha256:" + new string('b', 64));
        for (var i = 0; events.Count < Records; i++)
        {
            var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i)));
            var jws = new Oci.Golden.GoldenValue
            {
                Reference = $"registry.local/app:{i}",
                ManifestDigest = Oci.Content.Digest.Parse(digest),
                ConfigDigest = rootfs,
                LayerDigests = [],
                DiffIds = [],
                RootfsDigest = rootfs,
                Created = DateTimeOffset.UtcNow.AddHours(-1),
                Expires = DateTimeOffset.UtcNow.AddYears(1),
            }.Sign(signer);
            var golden = Oci.Golden.GoldenValue.JwsDigest(jws);
            goldenValues[golden] = jws;
            var c = string.Create(CultureInfo.InvariantCulture, $"container-{i}");
            string[] lines =
            [
                $$"""ImagePulled {"digest":"{{digest}}","image":"registry.local/app:{{i}}"}""",
                $$"""ImageVerified {"digest":"{{digest}}","golden":"{{golden}}","image":"registry.local/app:{{i}}","mode":"local","publisher":"{{signer.KeyId}}","rootfs":"{{rootfs}}"}""",
                $$"""ContainerCreated {"config":"{{new string('c', 64)}}","container":"{{c}}","digest":"{{digest}}","image":"registry.local/app:{{i}}","namespace":"apps","network":"pod","pod":"pod-{{i}}","seccomp":"default"}""",
                $$"""ContainerStarted {"container":"{{c}}"}""",
                $$"""ContainerStopped {"container":"{{c}}","exit_code":0}""",
            ];
            foreach (var rest in lines)
            {
                var line = LaunchEvents.Domain + " " + rest;
                var hash = SHA256.HashData(Encoding.UTF8.GetBytes(line));
                events.Add(new CelRecord(events.Count, LaunchPcr, [new CelDigest("sha256", Convert.ToHexStringLower(hash))], CelRecord.EventLineContentType, line));
                pcr = SHA256.HashData([.. pcr, .. hash]);
            }
        }
        return (events, pcr, goldenValues);
    }

    private static AppraisalInput Input(AttestationPolicy policy, List<CelRecord> events, byte[] launchPcr, Dictionary<string, string> goldenValues,
        AsymmetricAlgorithm key)
    {
        var nonce = RandomNumberGenerator.GetBytes(32);
        byte[] values = [.. new byte[32], .. launchPcr];
        var w = new TpmWriter()
            .WriteUInt32(TpmAttest.Magic).WriteUInt16((ushort)TpmSt.AttestQuote)
            .WriteSized(RandomNumberGenerator.GetBytes(34)).WriteSized(nonce)
            .WriteUInt64(123_456).WriteUInt32(3).WriteUInt32(0).WriteByte(1)
            .WriteUInt64(0x2019_1023_0016_3636);
        PcrSelection.WriteList(w, [new PcrSelection(TpmAlgId.Sha256, [0, LaunchPcr])]);
        w.WriteSized(SHA256.HashData(values));
        var attest = w.ToArray();
        var signature = key switch
        {
            ECDsa ec => SignEcdsa(ec, attest),
            RSA rsa => TpmSignature.Rsa(TpmAlgId.Rsassa, TpmAlgId.Sha256, rsa.SignData(attest, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)),
            _ => throw new ArgumentException("ECDsa or RSA", nameof(key)),
        };
        var evidence = new QuoteEvidence("bench-agent", attest, signature.ToBytes(),
            [new PcrValue("sha256", 0, new string('0', 64)), new PcrValue("sha256", LaunchPcr, Convert.ToHexStringLower(launchPcr))],
            LaunchPcr, 0, events, events.Count, 3, 0, 1, goldenValues);
        return new AppraisalInput("bench-agent", key, nonce, policy, AppraisalState.Initial, evidence, DateTimeOffset.UtcNow);
    }

    private static TpmSignature SignEcdsa(ECDsa key, byte[] attest)
    {
        var rs = key.SignData(attest, HashAlgorithmName.SHA256);
        return TpmSignature.Ecdsa(TpmAlgId.Sha256, rs[..32], rs[32..]);
    }
}
