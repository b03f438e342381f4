using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Polling;

/// <summary>
/// The agents this instance holds: when each is next due, whether a round is in flight, and the record its next round
/// continues from (what the last round wrote), so a round needs no store read. A record is kept only while its
/// <see cref="AgentRecord.Generation"/> is the one lease maintenance last saw; a tenant write changes it, and the next
/// round reads the agent again. Due agents come off a priority queue, so finding them costs O(log n) per round rather
/// than a scan of every held agent. Thread-safe.
/// </summary>
public sealed class AgentSchedule
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    // Items go stale when their entry is rescheduled or dropped (the version no longer matches): skipped on the way out.
    private readonly PriorityQueue<(Entry Entry, long Version), DateTimeOffset> _queue = new();
    private readonly HashSet<string> _running = new(StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (_lock)
                return _entries.Count;
        }
    }

    /// <summary>
    /// Makes the held set <paramref name="held"/>: agents no longer held are dropped (returned), new ones are due at
    /// <paramref name="firstDue"/>'s time, and a kept record of another generation than the store's is let go.
    /// </summary>
    public IReadOnlyList<string> Refresh(IReadOnlyList<HeldAgent> held, Func<HeldAgent, DateTimeOffset> firstDue)
    {
        ArgumentNullException.ThrowIfNull(held);
        ArgumentNullException.ThrowIfNull(firstDue);
        lock (_lock)
        {
            var ids = held.Select(h => h.AgentId).ToHashSet(StringComparer.Ordinal);
            var dropped = _entries.Keys.Where(id => !ids.Contains(id)).ToList();
            foreach (var agentId in dropped)
            {
                _entries[agentId].Version = -1;
                _entries.Remove(agentId);
            }
            foreach (var agent in held)
            {
                if (_entries.TryGetValue(agent.AgentId, out var entry))
                {
                    entry.Generation = agent.Generation;
                    if (entry.Agent is { } kept && kept.Generation != agent.Generation)
                        entry.Agent = null;
                    continue;
                }
                entry = new Entry(agent.AgentId) { Generation = agent.Generation };
                _entries.Add(agent.AgentId, entry);
                // Dropped and held again while a round was still running: that round's end schedules it.
                if (!_running.Contains(agent.AgentId))
                    Enqueue(entry, firstDue(agent));
            }
            return dropped;
        }
    }

    /// <summary>
    /// Takes up to <paramref name="max"/> agents due at <paramref name="now"/>, longest due first, and marks them in
    /// flight; each with the record to continue from (null: read it). <paramref name="moreDue"/>: others wait.
    /// </summary>
    public IReadOnlyList<(string AgentId, AgentRecord? Agent)> TakeDue(DateTimeOffset now, int max, out bool moreDue)
    {
        var taken = new List<(string, AgentRecord?)>();
        lock (_lock)
        {
            moreDue = false;
            while (_queue.TryPeek(out var item, out var due) && due <= now)
            {
                if (item.Version != item.Entry.Version)
                {
                    _queue.Dequeue();
                    continue;
                }
                if (taken.Count >= max)
                {
                    moreDue = true;
                    break;
                }
                _queue.Dequeue();
                item.Entry.Version++;
                _running.Add(item.Entry.AgentId);
                taken.Add((item.Entry.AgentId, item.Entry.Agent));
            }
        }
        return taken;
    }

    /// <summary>
    /// A round ended: the agent (if still held) is due again at <paramref name="next"/>, continuing from
    /// <paramref name="agent"/> (what the round wrote; null when it wrote nothing or the next round must read).
    /// </summary>
    public void Complete(string agentId, DateTimeOffset next, AgentRecord? agent)
    {
        lock (_lock)
        {
            _running.Remove(agentId);
            if (!_entries.TryGetValue(agentId, out var entry))
                return;
            entry.Agent = agent is not null && agent.Generation == entry.Generation ? agent : null;
            Enqueue(entry, next);
        }
    }

    private void Enqueue(Entry entry, DateTimeOffset due)
    {
        entry.Version++;
        _queue.Enqueue((entry, entry.Version), due);
    }

    private sealed class Entry(string agentId)
    {
        public string AgentId { get; } = agentId;

        /// <summary>The row's generation as lease maintenance last read it.</summary>
        public long Generation { get; set; }

        public AgentRecord? Agent { get; set; }

        /// <summary>Which queue item is current; -1 once dropped.</summary>
        public long Version { get; set; }
    }
}
