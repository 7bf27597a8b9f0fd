// Test infrastructure, not product code: the node half of a CSI driver for the real node
// (docs/testing.md, "The real node"). The test provisioner (test/support/provisioner.ts) makes
// a folder per volume below --root and a CSI PV of this driver whose volume handle is the folder's
// name; the kubelet asks this plugin to publish it into a pod, and it bind-mounts the folder there.
// It exists so that volumes on the real node are CSI volumes, which the external snapshot
// controller can snapshot (it only snapshots CSI volumes; hostPath PVs are not).
//
// It serves two gRPC sockets: the CSI Identity and Node services at --endpoint, and the kubelet's
// plugin registration service in --registration-dir (what node-driver-registrar does for a real
// driver). It has no Controller service: the test provisioner provisions, and the CSIDriver object
// says attachRequired: false.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	registration "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

type plugin struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedNodeServer
	registration.UnimplementedRegistrationServer
	name     string
	node     string
	root     string
	endpoint string
}

func (p *plugin) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: p.name, VendorVersion: "0.1.0"}, nil
}

func (p *plugin) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	return &csi.GetPluginCapabilitiesResponse{}, nil
}

func (p *plugin) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}

func (p *plugin) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{}, nil
}

func (p *plugin) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: p.node}, nil
}

// folder is the volume's folder: a direct child of the root, never anything else.
func (p *plugin) folder(handle string) (string, error) {
	if handle == "" || handle == "." || handle == ".." || strings.ContainsAny(handle, "/\x00") {
		return "", status.Errorf(codes.InvalidArgument, "not a volume handle: %q", handle)
	}
	dir := filepath.Join(p.root, handle)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", status.Errorf(codes.NotFound, "no folder for volume %s below %s", handle, p.root)
	}
	return dir, nil
}

// mounted tells whether target is a mount point: a line of /proc/self/mountinfo names it (a bind
// mount from the same file system has the same device as its parent, so a stat would not tell).
func mounted(target string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && fields[4] == target {
			return true
		}
	}
	return false
}

func (p *plugin) NodePublishVolume(_ context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	target := req.GetTargetPath()
	if target == "" {
		return nil, status.Error(codes.InvalidArgument, "no target path")
	}
	source, err := p.folder(req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	if mounted(target) {
		return &csi.NodePublishVolumeResponse{}, nil
	}
	if err := os.MkdirAll(target, 0o750); err != nil {
		return nil, status.Errorf(codes.Internal, "mkdir %s: %v", target, err)
	}
	if err := syscall.Mount(source, target, "", syscall.MS_BIND, ""); err != nil {
		return nil, status.Errorf(codes.Internal, "bind mount %s on %s: %v", source, target, err)
	}
	if req.GetReadonly() {
		flags := uintptr(syscall.MS_BIND | syscall.MS_REMOUNT | syscall.MS_RDONLY)
		if err := syscall.Mount("", target, "", flags, ""); err != nil {
			_ = syscall.Unmount(target, 0)
			return nil, status.Errorf(codes.Internal, "read-only remount of %s: %v", target, err)
		}
	}
	log.Printf("published %s at %s (read-only: %v)", source, target, req.GetReadonly())
	return &csi.NodePublishVolumeResponse{}, nil
}

func (p *plugin) NodeUnpublishVolume(_ context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	target := req.GetTargetPath()
	if target == "" {
		return nil, status.Error(codes.InvalidArgument, "no target path")
	}
	for mounted(target) {
		if err := syscall.Unmount(target, 0); err != nil {
			return nil, status.Errorf(codes.Internal, "unmount %s: %v", target, err)
		}
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, status.Errorf(codes.Internal, "remove %s: %v", target, err)
	}
	log.Printf("unpublished %s", target)
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

func (p *plugin) GetInfo(context.Context, *registration.InfoRequest) (*registration.PluginInfo, error) {
	return &registration.PluginInfo{
		Type:              registration.CSIPlugin,
		Name:              p.name,
		Endpoint:          p.endpoint,
		SupportedVersions: []string{"1.0.0"},
	}, nil
}

func (p *plugin) NotifyRegistrationStatus(_ context.Context, s *registration.RegistrationStatus) (*registration.RegistrationStatusResponse, error) {
	if s.PluginRegistered {
		log.Printf("registered with the kubelet")
	} else {
		log.Printf("the kubelet refused the registration: %s", s.Error)
	}
	return &registration.RegistrationStatusResponse{}, nil
}

func listen(path string) net.Listener {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		log.Fatal(err)
	}
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		log.Fatal(err)
	}
	return l
}

func main() {
	p := &plugin{}
	var registrationDir string
	flag.StringVar(&p.name, "driver-name", "hostfolders.test.datamover.io", "the CSI driver's name")
	flag.StringVar(&p.node, "node-id", "", "the node's name")
	flag.StringVar(&p.root, "root", "", "the folder holding one folder per volume")
	flag.StringVar(&p.endpoint, "endpoint", "", "the CSI socket's path")
	flag.StringVar(&registrationDir, "registration-dir", "", "the kubelet's plugins_registry folder")
	flag.Parse()
	if p.node == "" || p.root == "" || p.endpoint == "" || registrationDir == "" {
		log.Fatal("--node-id, --root, --endpoint and --registration-dir are required")
	}
	// The CSI socket first: the kubelet calls it as soon as it sees the registration socket.
	csiServer := grpc.NewServer()
	csi.RegisterIdentityServer(csiServer, p)
	csi.RegisterNodeServer(csiServer, p)
	go func() { log.Fatal(csiServer.Serve(listen(p.endpoint))) }()
	// A short name: a unix socket's path has at most 107 bytes, and the kubelet's root is deep.
	regPath := filepath.Join(registrationDir, "hostfolders.sock")
	regServer := grpc.NewServer()
	registration.RegisterRegistrationServer(regServer, p)
	go func() { log.Fatal(regServer.Serve(listen(regPath))) }()
	log.Printf("serving %s for node %s: volumes below %s, CSI at %s, registration at %s", p.name, p.node, p.root, p.endpoint, regPath)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	regServer.Stop()
	csiServer.Stop()
	_ = os.Remove(regPath)
	_ = os.Remove(p.endpoint)
}
