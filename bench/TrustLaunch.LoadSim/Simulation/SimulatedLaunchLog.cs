using System.Globalization;
using System.Security.Cryptography;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Jose;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.LoadSim.Simulation;

/// <summary>
/// A simulated agent's launch log: CEL records of real launch event lines and the launch PCR they replay to, computed
/// in software. It starts with one container launched from <see cref="ImageDigest"/> and then cycles that container
/// through stop, delete, create and start, one event per <see cref="Advance"/>, so verifiers replay incrementally.
/// </summary>
public sealed class SimulatedLaunchLog
{
    /// <summary>The one image every simulated agent runs; the benchmark policy allows exactly this digest.</summary>
    public static readonly string ImageDigest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData("trustlaunch-loadsim-image"u8));
    public const string ImageReference = "registry.example/loadsim/app:1";

    private static readonly ECDsa PublisherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private static readonly Digest Rootfs = Digest.Parse("sha256:" + new string('b', 64));

    /// <summary>The key (made once per process) that signed <see cref="GoldenValueJws"/>; the benchmark policy trusts it.</summary>
    public static string PublisherPem { get; } = PublisherKey.ExportSubjectPublicKeyInfoPem();
    public static string PublisherKeyId { get; } = Jwk.ThumbprintOf(PublisherKey);

    /// <summary>The golden value of <see cref="ImageDigest"/>, handed to verifiers with every quote as an agent does.</summary>
    public static string GoldenValueJws { get; } = SignGoldenValue();

    private readonly Lock _lock = new();
    private readonly List<CelRecord> _records = [];
    private readonly byte[] _pcr = new byte[SHA256.HashSizeInBytes];
    private int _cycle;
    private int _container = 1;

    public SimulatedLaunchLog(int launchPcr)
    {
        LaunchPcr = launchPcr;
        Append(LaunchEventLines.ImagePulled(new ImagePulledEvent(ImageReference, ImageDigest)));
        Append(LaunchEventLines.ImageVerified(new ImageVerifiedEvent(ImageReference, ImageDigest, "local", PublisherKeyId,
            GoldenValue.JwsDigest(GoldenValueJws), Rootfs.ToString())));
        AppendCreatedAndStarted();
    }

    public int LaunchPcr { get; }

    public long Length
    {
        get
        {
            lock (_lock)
                return _records.Count;
        }
    }

    /// <summary>Appends the next event of the container's life cycle.</summary>
    public void Advance()
    {
        lock (_lock)
        {
            var id = ContainerId(_container);
            switch (_cycle++ % 4)
            {
                case 0:
                    Append(LaunchEventLines.ContainerStopped(new ContainerStoppedEvent(id, 0)));
                    break;
                case 1:
                    Append(LaunchEventLines.ContainerDeleted(new ContainerEvent(id)));
                    _container++;
                    break;
                case 2:
                    Append(LaunchEventLines.ContainerCreated(Created(ContainerId(_container))));
                    break;
                default:
                    Append(LaunchEventLines.ContainerStarted(new ContainerEvent(id)));
                    break;
            }
        }
    }

    /// <summary>
    /// What the agent's <c>GET /v1/quote</c> answers: a quote by <paramref name="tpm"/> over the sha256
    /// <paramref name="pcrs"/> (the launch PCR as the log replays, any other PCR zero) and the records from
    /// <paramref name="since"/>, taken under one lock so PCR values and records agree.
    /// </summary>
    public QuoteEvidence Quote(SoftwareTpm tpm, string agentId, byte[] nonce, IReadOnlyList<int> pcrs, long since)
    {
        var selection = new PcrSelection(TpmAlgId.Sha256, pcrs);
        lock (_lock)
        {
            var values = new byte[selection.Pcrs.Count * SHA256.HashSizeInBytes];
            var listed = new List<PcrValue>(selection.Pcrs.Count);
            for (var i = 0; i < selection.Pcrs.Count; i++)
            {
                var value = values.AsSpan(i * SHA256.HashSizeInBytes, SHA256.HashSizeInBytes);
                if (selection.Pcrs[i] == LaunchPcr)
                    _pcr.CopyTo(value);
                listed.Add(new PcrValue("sha256", selection.Pcrs[i], Convert.ToHexStringLower(value)));
            }
            var (attest, signature) = tpm.Quote(nonce, selection, values);
            var from = (int)Math.Min(since, _records.Count);
            return new QuoteEvidence(agentId, attest, signature, listed, LaunchPcr, since, _records[from..], _records.Count,
                tpm.ResetCount, tpm.RestartCount, BootCount: 1, new Dictionary<string, string> { [GoldenValue.JwsDigest(GoldenValueJws)] = GoldenValueJws });
        }
    }

    private void AppendCreatedAndStarted()
    {
        var id = ContainerId(_container);
        Append(LaunchEventLines.ContainerCreated(Created(id)));
        Append(LaunchEventLines.ContainerStarted(new ContainerEvent(id)));
    }

    private static ContainerCreatedEvent Created(string id) =>
        new(id, Pod: "", Namespace: "", ImageReference, ImageDigest, Config: new string('c', 64),
            ContainerIsolation.NetworkPod, ContainerIsolation.SeccompDefault);

    private static string ContainerId(int n) => string.Create(CultureInfo.InvariantCulture, $"loadsim-{n}");

    private void Append(string line)
    {
        var digest = EventLine.Digest(line);
        _records.Add(new CelRecord(_records.Count, LaunchPcr, [new CelDigest("sha256", Convert.ToHexStringLower(digest))],
            CelRecord.EventLineContentType, line));
        Span<byte> pair = stackalloc byte[2 * SHA256.HashSizeInBytes];
        _pcr.CopyTo(pair);
        digest.CopyTo(pair[SHA256.HashSizeInBytes..]);
        SHA256.HashData(pair, _pcr);
    }

    private static string SignGoldenValue()
    {
        using var signer = PemPayloadSigner.FromPem(PublisherKey.ExportPkcs8PrivateKeyPem());
        var now = DateTimeOffset.UtcNow;
        return new GoldenValue
        {
            Reference = ImageReference,
            ManifestDigest = Digest.Parse(ImageDigest),
            ConfigDigest = Digest.Parse("sha256:" + new string('d', 64)),
            LayerDigests = [],
            DiffIds = [],
            RootfsDigest = Rootfs,
            Created = now.AddHours(-1),
            Expires = now.AddYears(1),
        }.Sign(signer);
    }
}
