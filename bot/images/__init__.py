"""The /image pipeline: KIE image tasks delivered by callback or poll, exactly once.

Modules, in the order a task meets them: `options` (validate what was asked),
`references` (check and upload reference images), `kie` (createTask / 4o generate and
the status queries), `records` (the durable task table), `creation` (the 20-per-10 s
queue), `ratelimit` and `schedule` (how often status is asked), `webhook` (callbacks),
`delivery` (the atomic claim, download, post), `netguard` (what may be fetched on
KIE's say-so, and how much), `progress` (what the user sees while waiting) and `service`
(the command handler, watcher, callback adoption and resume on start).
"""
