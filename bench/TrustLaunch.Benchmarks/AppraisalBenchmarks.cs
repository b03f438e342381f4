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

    private const int NewRecords = 5;

    private AppraisalInput _ecc = null!;
    private AppraisalInput _rsa = null!;
    private AppraisalInput _steady = null!;
    private StoredPolicy _stored = null!;

    [GlobalSetup]
    public void Setup()
    {
        using var publisher = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var kid = Jwk.ThumbprintOf(publisher);
        _stored = new StoredPolicy(new PolicyDocument("bench",
            new Dictionary<string, string> { [kid] = publisher.ExportSubjectPublicKeyInfoPem() },
            [], [kid], ["apps"], LaunchPcr, new Dictionary<int, string> { [0] = new string('0', 64) }), 1, DateTimeOffset.UnixEpoch);
        var policy = new AttestationPolicy(_stored);
        var (events, pcrs, golden) = BuildLog(publisher);
        var ak = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _ecc = Input(policy, events, 0, pcrs[Records], golden, ak, AppraisalState.Initial);
        _rsa = Input(policy, events, 0, pcrs[Records], golden, RSA.Create(2048), AppraisalState.Initial);
        // A node polled again after its last launch: the state after record 95, then one launch's 5 records.
        var before = Checked(Appraiser.Appraise(Input(policy, events[..(Records - NewRecords)], 0, pcrs[Records - NewRecords], golden, ak, AppraisalState.Initial)),
            Records - NewRecords);
        _steady = Input(policy, events[(Records - NewRecords)..], Records - NewRecords, pcrs[Records], golden, ak, before.State!);
        Checked(Appraiser.Appraise(_ecc), Records);
        Checked(Appraiser.Appraise(_rsa), Records);
        Checked(Appraiser.Appraise(_steady), NewRecords);
    }

    /// <summary>Catch-up of a 100-record log whose 20 golden values this verifier has checked before (a fleet's nodes run
    /// the same images): quote and replay in full, each golden value's signature checked once per policy version.</summary>
    [Benchmark]
    public bool AppraiseEcc100() => Appraiser.Appraise(_ecc).IsAttested;

    [Benchmark]
    public bool AppraiseRsa100() => Appraiser.Appraise(_rsa).IsAttested;

    /// <summary>The same catch-up by a verifier that has seen none of its golden values (a new policy version): 20 more
    /// ES256 verifications.</summary>
    [Benchmark]
    public bool AppraiseEcc100Cold() => Appraiser.Appraise(_ecc with { Policy = new AttestationPolicy(_stored) }).IsAttested;

    /// <summary>A steady-state poll: 5 new records (one launch) on top of 95 already appraised.</summary>
    [Benchmark]
    public bool AppraiseEccSteady5() => Appraiser.Appraise(_steady).IsAttested;

    private static AppraisalOutcome Checked(AppraisalOutcome outcome, int events) =>
        outcome.IsAttested && outcome.EventsVerified == events ? outcome
            : throw new InvalidOperationException("the sample evidence does not appraise: " + outcome.Reason);

    /// <summary>Launches of 5 records each (pulled, verified, created, started, stopped), replayed from zeros, and the
    /// golden value (signed by <paramref name="publisher"/>) each ImageVerified names, as the evidence carries them.</summary>
    private static (List<CelRecord> Events, List<byte[]> Pcrs, Dictionary<string, string> GoldenValues) BuildLog(ECDsa publisher)
    {
        var pcrs = new List<byte[]> { new byte[32] };
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
                pcrs.Add(pcr);
            }
        }
        return (events, pcrs, goldenValues);
    }

    private static AppraisalInput Input(AttestationPolicy policy, List<CelRecord> events, long from, byte[] launchPcr, Dictionary<string, string> goldenValues,
        AsymmetricAlgorithm key, AppraisalState previous)
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
            LaunchPcr, from, events, from + events.Count, 3, 0, 1, goldenValues);
        return new AppraisalInput("bench-agent", key, nonce, policy, previous, evidence, DateTimeOffset.UtcNow);
    }

    private static TpmSignature SignEcdsa(ECDsa key, byte[] attest)
    {
        var rs = key.SignData(attest, HashAlgorithmName.SHA256);
        return TpmSignature.Ecdsa(TpmAlgId.Sha256, rs[..32], rs[32..]);
    }
}
