package cluster

// Pause stops the node's renewals without giving anything back, as a
// process that the kernel stopped (SIGSTOP) or a long GC pause would.
func (n *Node) Pause() {
	close(n.stop)
	<-n.done
}
