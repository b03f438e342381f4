using System.CommandLine;
using TrustLaunch.Cli.Output;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm slots</c>.</summary>
public static class HsmSlotsCommand
{
    public static Command Create(GlobalOptions options, HsmOptions hsm)
    {
        var command = new Command("slots", "List slots and their tokens (SoftHSM slot ids change: name tokens by label)");
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var slots = hsm.Load(parse).GetSlots();
            var result = new HsmSlotsResult(slots.Select(s => new HsmSlotResult(s.SlotId, s.Description, s.Token?.Label, s.Token?.Manufacturer,
                s.Token?.Model, s.Token?.Serial, s.Token?.Initialized ?? false, s.Token?.UserPinInitialized ?? false, s.Token?.UserPinLocked ?? false)).ToList());
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.HsmSlotsResult, (w, r) =>
            {
                foreach (var s in r.Slots)
                    w.WriteLine(s.Initialized
                        ? $"slot {s.SlotId}: token '{s.Label}' ({s.Manufacturer} {s.Model}, serial {s.Serial}){(s.UserPinLocked ? " PIN LOCKED" : "")}{(s.UserPinInitialized ? "" : " no user PIN")}"
                        : $"slot {s.SlotId}: uninitialised token");
            }).ConfigureAwait(false);
        }));
        return command;
    }
}
