import { Injectable } from '@nestjs/common';
import { AuditService } from '@idlemint/audit';
import { PrismaService } from '@idlemint/core';
import { NodesErrors } from './nodes.errors.js';
import { PlatformKeyRotation } from './platform-key-rotation.service.js';

export interface NodeView {
  id: string;
  name: string;
  url: string;
  status: 'active' | 'disabled';
  ingestCursor: string;
  createdAt: Date;
}

/**
 * Trusted node status. A disabled node gets no ingest pulls, no relays and no new payouts (those
 * paths read only active nodes). Enabling one first brings its platform keys up to date, so it
 * accepts what the platform signs now; if that fails, its status stays as it was.
 */
@Injectable()
export class NodesService {
  constructor(
    private readonly db: PrismaService,
    private readonly rotation: PlatformKeyRotation,
    private readonly audit: AuditService,
  ) {}

  async disable(id: string): Promise<NodeView> {
    const node = await this.find(id);
    if (node.status === 'disabled') return nodeView(node);
    return this.setStatus(node, 'disabled');
  }

  /**
   * Brings the node's platform keys up to date (also when it is already active: a node registered
   * with an older PLATFORM_PUBLIC_KEY catches up this way), then makes it active.
   */
  async enable(id: string): Promise<NodeView> {
    const node = await this.find(id);
    await this.rotation.syncNode(node);
    if (node.status === 'active') return nodeView(node);
    return this.setStatus(node, 'active');
  }

  private setStatus(node: { id: string; status: 'active' | 'disabled' }, status: 'active' | 'disabled'): Promise<NodeView> {
    return this.db.$transaction(async (tx) => {
      const after = await tx.trustedNode.update({ where: { id: node.id }, data: { status } });
      await this.audit.record(tx, {
        manufacturerId: null,
        actor: { kind: 'operator' },
        action: status === 'active' ? 'node.enable' : 'node.disable',
        targetType: 'trusted_node',
        targetIds: [node.id],
        before: { status: node.status },
        after: { status },
      });
      return nodeView(after);
    });
  }

  private async find(id: string) {
    const node = await this.db.trustedNode.findUnique({ where: { id } });
    if (!node) throw NodesErrors.notFound();
    return node;
  }
}

export function nodeView(n: {
  id: string;
  name: string;
  url: string;
  status: 'active' | 'disabled';
  ingestCursor: bigint;
  createdAt: Date;
}): NodeView {
  return { id: n.id, name: n.name, url: n.url, status: n.status, ingestCursor: n.ingestCursor.toString(), createdAt: n.createdAt };
}
