using System.CommandLine;
using System.Globalization;
using TrustLaunch.Cli.Output;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Cli.Commands.Tpm;

/// <summary><c>trustlaunch tpm pcrs [--bank B] [--pcr 0,1,15]</c>: text like tpm2_pcrread.</summary>
public static class TpmPcrsCommand
{
    public static Command Create(GlobalOptions options)
    {
        var bank = new Option<string?>("--bank") { Description = "Only this bank (e.g. sha256); default: every allocated bank", HelpName = "BANK" };
        var pcrs = new Option<string?>("--pcr") { Description = "Only these PCRs (e.g. 0,1,15); default: all", HelpName = "LIST" };
        var command = new Command("pcrs", "Read PCR values") { bank, pcrs };
        command.SetAction(async (parse, ct) =>
        {
            using var device = options.OpenTpm(parse);
            var banks = await device.GetPcrBanksAsync(ct).ConfigureAwait(false);
            var selection = Select(banks.Where(b => b.Pcrs.Count > 0).ToList(), parse.GetValue(bank), parse.GetValue(pcrs));
            var values = await device.ReadPcrsAsync(selection, ct).ConfigureAwait(false);
            var result = new PcrsResult(selection.ToDictionary(
                s => TpmHash.ToName(s.Bank),
                IReadOnlyDictionary<string, string> (s) => s.Pcrs.ToDictionary(
                    p => p.ToString(CultureInfo.InvariantCulture),
                    p => Convert.ToHexStringLower(values[s.Bank, p]))));
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.PcrsResult, WriteText).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>The requested bank and PCRs, checked against what the TPM has allocated.</summary>
    internal static IReadOnlyList<PcrSelection> Select(IReadOnlyList<PcrSelection> allocated, string? bank, string? pcrs)
    {
        var chosen = allocated;
        if (bank is not null)
        {
            var alg = TpmHash.Parse(bank);
            chosen = allocated.Where(b => b.Bank == alg).ToList();
            if (chosen.Count == 0)
                throw new CliUsageException($"the TPM has no {TpmHash.ToName(alg)} bank allocated; it has {string.Join(", ", allocated.Select(b => TpmHash.ToName(b.Bank)))}");
        }
        if (pcrs is null)
            return chosen;
        return chosen.Select(b => PcrSelection.ParseList($"{TpmHash.ToName(b.Bank)}:{pcrs}")[0]).ToList();
    }

    private static void WriteText(TextWriter w, PcrsResult r)
    {
        foreach (var (bank, values) in r.Banks)
        {
            w.WriteLine($"{bank}:");
            foreach (var (pcr, value) in values)
                w.WriteLine($"  {pcr,-2}: 0x{value.ToUpperInvariant()}");
        }
    }
}
