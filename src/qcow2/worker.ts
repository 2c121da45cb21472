// Cluster compression worker (worker_threads): receives batches of clusters with a job
// id, answers with each cluster as stored (storedCluster). Results travel as
// transferred buffers, each result in a buffer of its own.
import { parentPort } from 'node:worker_threads';
import { type Stored, storedCluster } from './deflate.js';

export interface Job {
  id: number;
  clusters: Uint8Array[];
}

export interface Done {
  id: number;
  results: Stored[];
}

parentPort!.on('message', (job: Job) => {
  const results = job.clusters.map(storedCluster);
  const done: Done = { id: job.id, results };
  parentPort!.postMessage(
    done,
    results.map((r) => r.bytes.buffer as ArrayBuffer),
  );
});
parentPort!.postMessage('ready');
