using System.Text;
using TrustLaunch.Tpm.Commands;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm;

/// <summary>What a TPM says about itself.</summary>
public sealed record TpmInfo(
    string Manufacturer,
    string VendorString,
    string FirmwareVersion,
    string SpecVersion,
    IReadOnlyList<string> Algorithms,
    IReadOnlyList<TpmEccCurve> EccCurves,
    IReadOnlyList<PcrSelection> PcrBanks);

public sealed partial class TpmDevice
{
    private const uint PtFixed = 0x100;
    private const uint PtFamilyIndicator = PtFixed + 0;
    private const uint PtRevision = PtFixed + 2;
    private const uint PtManufacturer = PtFixed + 5;
    private const uint PtVendorString1 = PtFixed + 6;
    private const uint PtFirmwareVersion1 = PtFixed + 11;
    private const uint PtFirmwareVersion2 = PtFixed + 12;

    /// <summary>All fixed properties (TPM_PT_FIXED group) by property id.</summary>
    public async Task<IReadOnlyDictionary<uint, uint>> GetFixedPropertiesAsync(CancellationToken cancellationToken = default)
    {
        var result = new Dictionary<uint, uint>();
        var next = PtFixed;
        while (true)
        {
            var data = await ExecuteAsync(new GetCapabilityCommand(TpmCap.TpmProperties, next, 64), null, cancellationToken).ConfigureAwait(false);
            foreach (var (property, value) in data.Properties.Where(p => p.Property < PtFixed + 0x100))
                result[property] = value;
            if (!data.MoreData || data.Properties.Count == 0 || data.Properties[^1].Property >= PtFixed + 0x100)
                return result;
            next = data.Properties[^1].Property + 1;
        }
    }

    /// <summary>The PCR banks the TPM has allocated, each with its selected PCRs.</summary>
    public async Task<IReadOnlyList<PcrSelection>> GetPcrBanksAsync(CancellationToken cancellationToken = default)
    {
        var data = await ExecuteAsync(new GetCapabilityCommand(TpmCap.Pcrs, 0, 1), null, cancellationToken).ConfigureAwait(false);
        return data.Pcrs;
    }

    public async Task<TpmInfo> GetInfoAsync(CancellationToken cancellationToken = default)
    {
        var fixedProps = await GetFixedPropertiesAsync(cancellationToken).ConfigureAwait(false);
        uint Get(uint p) => fixedProps.TryGetValue(p, out var v) ? v : 0;

        var vendor = new StringBuilder();
        for (var i = 0u; i < 4; i++)
            vendor.Append(FourChars(Get(PtVendorString1 + i)));
        var fw1 = Get(PtFirmwareVersion1);
        var fw2 = Get(PtFirmwareVersion2);
        var family = FourChars(Get(PtFamilyIndicator));
        var revision = Get(PtRevision);

        var algs = await ExecuteAsync(new GetCapabilityCommand(TpmCap.Algs, 0, 128), null, cancellationToken).ConfigureAwait(false);
        var curves = await ExecuteAsync(new GetCapabilityCommand(TpmCap.EccCurves, 0, 64), null, cancellationToken).ConfigureAwait(false);
        var banks = await GetPcrBanksAsync(cancellationToken).ConfigureAwait(false);
        return new TpmInfo(
            FourChars(Get(PtManufacturer)),
            vendor.ToString(),
            $"{fw1 >> 16}.{fw1 & 0xFFFF}.{fw2 >> 16}.{fw2 & 0xFFFF}",
            $"{family} rev {revision / 100}.{revision % 100:00}",
            algs.Algorithms.Select(a => Enum.IsDefined(a.Algorithm) ? a.Algorithm.ToString().ToLowerInvariant() : $"0x{(ushort)a.Algorithm:x4}").ToList(),
            curves.Curves,
            banks.Where(b => b.Pcrs.Count > 0).ToList());
    }

    // TPM vendor properties pack ASCII into big-endian u32s, padded with NULs.
    private static string FourChars(uint value)
    {
        Span<byte> bytes = [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];
        return Encoding.ASCII.GetString(bytes).TrimEnd('\0', ' ');
    }
}
