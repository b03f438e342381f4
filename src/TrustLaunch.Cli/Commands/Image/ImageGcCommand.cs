using System.CommandLine;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Cli.Output;

namespace TrustLaunch.Cli.Commands.Image;

/// <summary>
/// <c>trustlaunch image gc</c>: removes blobs no stored image reaches, leftovers of killed pulls, and the snapshots
/// (unpacked trees under DATA/snapshots) of manifests no stored image names and no container uses.
/// </summary>
public static class ImageGcCommand
{
    public static Command Create(GlobalOptions options, RegistryOptions registry)
    {
        var command = new Command("gc", "Remove unreferenced blobs and snapshots, and leftovers of interrupted pulls");
        command.SetAction(async (parse, ct) =>
        {
            var store = registry.OpenStore(parse);
            var gc = store.GarbageCollect();
            var snapshots = Snapshots.Collect(store.Root, store.List().Select(i => i.ManifestDigest).ToHashSet());
            var result = new GcResult(gc.BytesFreed + snapshots.Sum(s => s.Bytes), gc.RemovedBlobs.Count, gc.RemovedIngestFiles.Count, snapshots);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.GcResult, (w, x) =>
            {
                w.WriteLine($"freed {x.BytesFreed} bytes ({PullProgressView.Bytes(x.BytesFreed)}): {x.BlobsRemoved} blobs, {x.IngestFilesRemoved} ingest leftovers, {x.SnapshotsRemoved.Count} snapshots");
                foreach (var snapshot in x.SnapshotsRemoved)
                    w.WriteLine($"snapshot {snapshot.ManifestDigest} ({PullProgressView.Bytes(snapshot.Bytes)})");
            }).ConfigureAwait(false);
        });
        return command;
    }
}
