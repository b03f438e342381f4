using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Measurement;
using TrustLaunch.Testing;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Commands;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Verifier.Tests.Appraisal;

/// <summary>
/// What an agent does for the verifier, on a real swtpm: measure event lines into the launch PCR and a log, and quote
/// with a persistent AK (so it survives a TPM reset). Starting one power-cycles the TPM, so PCRs begin at zero.
/// </summary>
internal sealed class QuotingNode : IDisposable
{
    public const int LaunchPcr = 11;
    private const uint AkHandle = 0x8101_0100;

    private readonly SwtpmFixture _tpm;
    private readonly TpmDevice _device;

    private QuotingNode(SwtpmFixture tpm, TpmDevice device, LoadedObject ak)
    {
        _tpm = tpm;
        _device = device;
        Ak = ak;
    }

    public LoadedObject Ak { get; }
    public List<CelRecord> Log { get; } = [];

    /// <summary>The golden values measured with <c>ImageVerified</c>, by digest, as the agent keeps them.</summary>
    public Dictionary<string, string> GoldenValues { get; } = new(StringComparer.Ordinal);
    public long BootCount { get; private set; } = 1;

    public static async Task<QuotingNode> StartAsync(SwtpmFixture tpm)
    {
        var device = tpm.OpenDevice();
        await PowerCycleAsync(tpm, device);
        try
        {
            await device.EvictAsync(AkHandle);
        }
        catch (TpmException)
        {
            // Not persisted yet: the first test of this TPM.
        }
        var ak = await device.CreateAkAsync(TpmAlgId.Ecc);
        await device.PersistAsync(ak.Handle, AkHandle);
        await device.FlushContextAsync(ak.Handle);
        return new QuotingNode(tpm, device, ak with { Handle = AkHandle });
    }

    public byte[] AkPublic => Ak.Public.ToTpm2bPublic();

    /// <summary>Appends <c>trustlaunch OPERATION CONTENT</c> to the log and extends the launch PCR with its digest; keeps
    /// <paramref name="goldenValue"/> (an <c>ImageVerified</c>'s) to hand out with quotes.</summary>
    public async Task<CelRecord> MeasureAsync(string operation, string canonicalContent, string? goldenValue = null)
    {
        if (goldenValue is not null)
            GoldenValues[TrustLaunch.Oci.Golden.GoldenValue.JwsDigest(goldenValue)] = goldenValue;
        var line = $"{LaunchEvents.Domain} {operation} {canonicalContent}";
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(line));
        var record = new CelRecord(Log.Count, LaunchPcr, [new CelDigest("sha256", Convert.ToHexStringLower(digest))],
            CelRecord.EventLineContentType, line);
        Log.Add(record);
        await _device.ExtendPcrAsync(LaunchPcr, [(TpmAlgId.Sha256, digest)]);
        return record;
    }

    /// <summary>Quotes the sha256 PCRs and returns the evidence an agent would, with the log from <paramref name="since"/>.</summary>
    public async Task<QuoteEvidence> QuoteAsync(byte[] nonce, IReadOnlyList<int> pcrs, long since)
    {
        var selection = new[] { new PcrSelection(TpmAlgId.Sha256, pcrs) };
        var signed = await _device.QuoteAsync(Ak.Handle, nonce, selection);
        var values = await _device.ReadPcrsAsync(selection);
        var attest = TpmAttest.Parse(signed.Attest);
        var events = Log.Skip((int)since).ToList();
        return new QuoteEvidence("node-1", signed.Attest, signed.Signature.ToBytes(),
            [.. pcrs.Select(p => new PcrValue("sha256", p, Convert.ToHexStringLower(values[TpmAlgId.Sha256, p])))],
            LaunchPcr, since, events, Log.Count, attest.ClockInfo.ResetCount, attest.ClockInfo.RestartCount, BootCount,
            new Dictionary<string, string>(GoldenValues, StringComparer.Ordinal));
    }

    /// <summary>A power cycle through swtpm's control channel: PCRs and the log start over, the AK stays.</summary>
    public async Task RebootAsync()
    {
        await PowerCycleAsync(_tpm, _device);
        Log.Clear();
        BootCount++;
    }

    /// <summary>A power loss: no TPM2_Shutdown before the power cycle, so the TPM reports its clock unsafe.</summary>
    public async Task PowerLossAsync()
    {
        await _tpm.Control.InitAsync();
        await _device.StartupAsync(TpmSu.Clear);
        Log.Clear();
        BootCount++;
    }

    // An orderly TPM2_Shutdown(CLEAR) first: unorderly power losses count as dictionary-attack failures and a few of
    // them lock the AK out (TPM_RC_LOCKOUT). The commands go raw because TpmDevice has no Shutdown.
    private static readonly byte[] ShutdownClear = Convert.FromHexString("80010000000C000001450000");

    private static async Task PowerCycleAsync(SwtpmFixture tpm, TpmDevice device)
    {
        await device.Transport.TransmitAsync(ShutdownClear, CancellationToken.None);
        await tpm.Control.InitAsync();
        await device.StartupAsync(TpmSu.Clear);
    }

    public Task<LoadedObject> CreateOtherAkAsync() => _device.CreateAkAsync(TpmAlgId.Ecc);

    public static string ImageDigest(int n) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(n)));

    public void Dispose() => _device.Dispose();
}
